/* reqs: what one request costs. Runs one kind of system call N times in
 * DIR and prints the microseconds per call, for each kind:
 *
 *     statfs        statfs(2) of DIR: STATFS, the cheapest round trip
 *     getattr       fstat(2) of an open file: GETATTR (attr_timeout=0)
 *     lookup        stat(2) of a name: LOOKUP (entry_timeout=0)
 *     open_close    open(2) and close(2) of a file: OPEN, RELEASE
 *     create_unlink creat(2), close(2), unlink(2): CREATE, RELEASE, UNLINK
 *     mkdir_rmdir   mkdir(2), rmdir(2): MKDIR, RMDIR
 *
 * Usage: reqs DIR N [KIND...]. Each kind runs N/10 times first, unmeasured.
 * Prints "KIND MICROSECONDS" lines. On a mount made with attr_timeout=0
 * and entry_timeout=0 (tests/bench/rtt does), each call is the requests
 * named; on a plain directory, the same calls for comparison. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

static int dirfd_;

static void die(const char *what)
{
	fprintf(stderr, "reqs: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void op_statfs(long i)
{
	struct statfs s;

	(void)i;
	if (fstatfs(dirfd_, &s) < 0)
		die("statfs");
}

static int getattr_fd = -1;

static void op_getattr(long i)
{
	struct stat st;

	(void)i;
	if (fstat(getattr_fd, &st) < 0)
		die("fstat");
}

static void op_lookup(long i)
{
	struct stat st;

	(void)i;
	if (fstatat(dirfd_, "file", &st, AT_SYMLINK_NOFOLLOW) < 0)
		die("stat");
}

static void op_open_close(long i)
{
	int fd = openat(dirfd_, "file", O_RDONLY);

	(void)i;
	if (fd < 0)
		die("open");
	close(fd);
}

static void op_create_unlink(long i)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "c%ld", i);
	fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die("create");
	close(fd);
	if (unlinkat(dirfd_, name, 0) < 0)
		die("unlink");
}

static void op_mkdir_rmdir(long i)
{
	char name[32];

	snprintf(name, sizeof(name), "d%ld", i);
	if (mkdirat(dirfd_, name, 0755) < 0)
		die("mkdir");
	if (unlinkat(dirfd_, name, AT_REMOVEDIR) < 0)
		die("rmdir");
}

static const struct kind {
	const char *name;
	void (*op)(long i);
} kinds[] = {
	{ "statfs", op_statfs },
	{ "getattr", op_getattr },
	{ "lookup", op_lookup },
	{ "open_close", op_open_close },
	{ "create_unlink", op_create_unlink },
	{ "mkdir_rmdir", op_mkdir_rmdir },
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void run(const struct kind *k, long n)
{
	double t0;
	long i;

	for (i = 0; i < n / 10; i++)
		k->op(i);
	t0 = now();
	for (i = 0; i < n; i++)
		k->op(i);
	printf("%s %.2f\n", k->name, (now() - t0) * 1e6 / n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t j;
	long n;
	int a, fd;

	if (argc < 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: reqs DIR N [KIND...]\n");
		return 2;
	}
	dirfd_ = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dirfd_ < 0)
		die(argv[1]);
	fd = openat(dirfd_, "file", O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		die("file");
	close(fd);
	getattr_fd = openat(dirfd_, "file", O_RDONLY);
	if (getattr_fd < 0)
		die("file");
	for (j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++) {
		if (argc == 3) {
			run(&kinds[j], n);
			continue;
		}
		for (a = 3; a < argc; a++)
			if (!strcmp(argv[a], kinds[j].name))
				run(&kinds[j], n);
	}
	close(getattr_fd);
	return 0;
}
