/* vnop: perform one system call (or a short chain of them) and print what
 * it returned, in the shape of pjdfstest's fstest:
 *
 *	vnop SYSCALL ARGS... [: SYSCALL ARGS...]...
 *
 * Each call prints one line: "0", a result where one is meaningful (an
 * offset, a byte count, a link target, an xattr value), or the errno name
 * (ENOENT, EACCES, ...). A chain stops at the first call that fails.
 * EWOULDBLOCK prints as EAGAIN and ENOTSUP as EOPNOTSUPP: on Linux they are
 * the same numbers.
 *
 * Descriptors opened by "open" are kept for the rest of the chain and are
 * named %0, %1, ... in the order they were opened. Calls that work on a
 * descriptor take either such a name or a path, which they open themselves
 * (read-only, or read-write where they write).
 *
 * Exit status: 0 when the calls were made (whatever they returned), 2 on a
 * usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FDS 16

static int fds[MAX_FDS];
static int nfds;

struct name_val {
	const char *name;
	long val;
};

/* The tables read best one entry per cell, as written. */
/* clang-format off */
#define NV(x) { #x, x }

static const struct name_val errnos[] = {
	NV(EPERM), NV(ENOENT), NV(ESRCH), NV(EINTR), NV(EIO), NV(ENXIO),
	NV(E2BIG), NV(ENOEXEC), NV(EBADF), NV(ECHILD), NV(EAGAIN),
	NV(ENOMEM), NV(EACCES), NV(EFAULT), NV(ENOTBLK), NV(EBUSY),
	NV(EEXIST), NV(EXDEV), NV(ENODEV), NV(ENOTDIR), NV(EISDIR),
	NV(EINVAL), NV(ENFILE), NV(EMFILE), NV(ENOTTY), NV(ETXTBSY),
	NV(EFBIG), NV(ENOSPC), NV(ESPIPE), NV(EROFS), NV(EMLINK),
	NV(EPIPE), NV(ERANGE), NV(EDEADLK), NV(ENAMETOOLONG), NV(ENOLCK),
	NV(ENOSYS), NV(ENOTEMPTY), NV(ELOOP), NV(ENODATA), NV(EOVERFLOW),
	NV(EOPNOTSUPP), NV(ENOTCONN), NV(ESTALE), NV(EDQUOT),
	NV(ENOTSOCK), NV(EILSEQ), NV(ECANCELED),
	{ NULL, 0 }
};

static const struct name_val open_flags[] = {
	NV(O_RDONLY), NV(O_WRONLY), NV(O_RDWR), NV(O_CREAT), NV(O_EXCL),
	NV(O_TRUNC), NV(O_APPEND), NV(O_DIRECT), NV(O_NOATIME),
	NV(O_NOFOLLOW), NV(O_DIRECTORY), NV(O_NONBLOCK), NV(O_SYNC),
	NV(O_DSYNC), NV(O_PATH), NV(O_TMPFILE), NV(O_NOCTTY),
	NV(O_CLOEXEC), NV(O_LARGEFILE),
	{ NULL, 0 }
};

static const struct name_val rename_flags[] = {
	{ "0", 0 },
	{ "NOREPLACE", RENAME_NOREPLACE },
	{ "RENAME_NOREPLACE", RENAME_NOREPLACE },
	{ "EXCHANGE", RENAME_EXCHANGE },
	{ "RENAME_EXCHANGE", RENAME_EXCHANGE },
	{ "WHITEOUT", RENAME_WHITEOUT },
	{ "RENAME_WHITEOUT", RENAME_WHITEOUT },
	{ NULL, 0 }
};

static const struct name_val falloc_flags[] = {
	{ "0", 0 },
	{ "KEEP_SIZE", FALLOC_FL_KEEP_SIZE },
	{ "PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE },
	{ "ZERO_RANGE", FALLOC_FL_ZERO_RANGE },
	{ "COLLAPSE_RANGE", FALLOC_FL_COLLAPSE_RANGE },
	{ "INSERT_RANGE", FALLOC_FL_INSERT_RANGE },
	{ NULL, 0 }
};

static const struct name_val whences[] = {
	NV(SEEK_SET), NV(SEEK_CUR), NV(SEEK_END), NV(SEEK_DATA),
	NV(SEEK_HOLE),
	{ NULL, 0 }
};

static const struct name_val xattr_flags[] = {
	{ "0", 0 },
	NV(XATTR_CREATE), NV(XATTR_REPLACE),
	{ "CREATE", XATTR_CREATE },
	{ "REPLACE", XATTR_REPLACE },
	{ NULL, 0 }
};

static const struct name_val flock_ops[] = {
	NV(LOCK_SH), NV(LOCK_EX), NV(LOCK_UN), NV(LOCK_NB),
	{ NULL, 0 }
};

static const struct name_val lock_types[] = {
	NV(F_RDLCK), NV(F_WRLCK), NV(F_UNLCK),
	{ NULL, 0 }
};

static const struct name_val access_modes[] = {
	NV(F_OK), NV(R_OK), NV(W_OK), NV(X_OK),
	{ NULL, 0 }
};

static const struct name_val at_flags[] = {
	{ "0", 0 },
	NV(AT_SYMLINK_NOFOLLOW), NV(AT_SYMLINK_FOLLOW), NV(AT_EMPTY_PATH),
	NV(AT_EACCESS),
	{ NULL, 0 }
};

/* clang-format on */

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vnop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static const char *errno_name(int e)
{
	static char buf[16];
	int i;

	for (i = 0; errnos[i].name; i++)
		if (errnos[i].val == e)
			return errnos[i].name;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

/* Parse "A,B,C" where each name is in table, or a number. */
static long parse_flags(const char *what, const struct name_val *table,
			const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	long v = 0;
	int i;

	if (!copy)
		usage_error("out of memory");
	for (tok = strtok_r(copy, ",|", &save); tok;
	     tok = strtok_r(NULL, ",|", &save)) {
		for (i = 0; table[i].name; i++)
			if (strcmp(table[i].name, tok) == 0)
				break;
		if (table[i].name) {
			v |= table[i].val;
			continue;
		}
		errno = 0;
		v |= strtol(tok, &end, 0);
		if (errno || *end || end == tok)
			usage_error("unknown %s '%s'", what, tok);
	}
	free(copy);
	return v;
}

static long long parse_num(const char *what, const char *s)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		usage_error("bad %s '%s'", what, s);
	return v;
}

/* A mode is octal, as on the command line of chmod. */
static mode_t parse_mode(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || *end || end == s || v > 07777)
		usage_error("bad mode '%s'", s);
	return (mode_t)v;
}

/* "%N" names a descriptor opened earlier in the chain; anything else is a
 * path to open with flags. *opened tells the caller to close it. */
static int get_fd(const char *arg, int flags, int *opened)
{
	long long n;
	int fd;

	*opened = 0;
	if (arg[0] == '%') {
		n = parse_num("descriptor", arg + 1);
		if (n < 0 || n >= nfds)
			usage_error("no descriptor %s", arg);
		return fds[n];
	}
	fd = open(arg, flags | O_CLOEXEC);
	if (fd >= 0)
		*opened = 1;
	return fd;
}

/* "NOW", "OMIT", or SECONDS[.FRACTION], up to nanoseconds. */
static struct timespec parse_time(const char *s)
{
	struct timespec ts = {0, 0};
	const char *dot, *p;
	char sec[32];
	int i;

	if (strcmp(s, "NOW") == 0 || strcmp(s, "UTIME_NOW") == 0) {
		ts.tv_nsec = UTIME_NOW;
		return ts;
	}
	if (strcmp(s, "OMIT") == 0 || strcmp(s, "UTIME_OMIT") == 0) {
		ts.tv_nsec = UTIME_OMIT;
		return ts;
	}
	dot = strchr(s, '.');
	if (!dot) {
		ts.tv_sec = (time_t)parse_num("time", s);
		return ts;
	}
	if ((size_t)(dot - s) >= sizeof(sec))
		usage_error("bad time '%s'", s);
	memcpy(sec, s, (size_t)(dot - s));
	sec[dot - s] = '\0';
	ts.tv_sec = (time_t)parse_num("time", sec);
	/* A decimal fraction: "1.5" is 1 s and 500000000 ns. */
	for (i = 0, p = dot + 1; i < 9; i++) {
		ts.tv_nsec *= 10;
		if (*p >= '0' && *p <= '9')
			ts.tv_nsec += *p++ - '0';
	}
	if (*p || p == dot + 1)
		usage_error("bad time '%s'", s);
	return ts;
}

static dev_t parse_dev(const char *maj, const char *min)
{
	return makedev((unsigned int)parse_num("major", maj),
		       (unsigned int)parse_num("minor", min));
}

static mode_t parse_type(const char *s)
{
	if (strcmp(s, "reg") == 0 || strcmp(s, "regular") == 0)
		return S_IFREG;
	if (strcmp(s, "fifo") == 0)
		return S_IFIFO;
	if (strcmp(s, "sock") == 0 || strcmp(s, "socket") == 0)
		return S_IFSOCK;
	if (strcmp(s, "char") == 0)
		return S_IFCHR;
	if (strcmp(s, "block") == 0)
		return S_IFBLK;
	usage_error("unknown file type '%s'", s);
	return 0;
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "regular";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	}
	return "unknown";
}

/* The result of one call: a number or a string to print, or an errno. */
struct result {
	int err;       /* errno, or 0 */
	long long num; /* printed when str is NULL */
	char *str;     /* malloc'd, printed instead of num */
};

static void set_err(struct result *r, long ret)
{
	r->err = ret < 0 ? errno : 0;
}

/* The call table: name, number of arguments (min, max), and handler. */
struct call {
	const char *name;
	int min_args, max_args;
	void (*fn)(char **argv, int argc, struct result *r);
	const char *usage;
};

static void do_open(char **argv, int argc, struct result *r)
{
	int flags = (int)parse_flags("open flag", open_flags, argv[1]);
	mode_t mode = argc > 2 ? parse_mode(argv[2]) : 0;
	int fd;

	if (nfds == MAX_FDS)
		usage_error("too many descriptors");
	fd = open(argv[0], flags, mode);
	set_err(r, fd);
	if (fd >= 0)
		fds[nfds++] = fd;
}

static void do_close(char **argv, int argc, struct result *r)
{
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);

	set_err(r, close(fd));
}

static void do_unlink(char **argv, int argc, struct result *r)
{
	set_err(r, unlink(argv[0]));
}

static void do_rmdir(char **argv, int argc, struct result *r)
{
	set_err(r, rmdir(argv[0]));
}

static void do_mkdir(char **argv, int argc, struct result *r)
{
	set_err(r, mkdir(argv[0], parse_mode(argv[1])));
}

static void do_mknod(char **argv, int argc, struct result *r)
{
	mode_t type = parse_type(argv[1]);
	dev_t dev = 0;

	if (type == S_IFCHR || type == S_IFBLK) {
		if (argc != 5)
			usage_error("mknod PATH %s MODE MAJOR MINOR", argv[1]);
		dev = parse_dev(argv[3], argv[4]);
	} else if (argc != 3) {
		usage_error("mknod PATH %s MODE", argv[1]);
	}
	set_err(r, mknod(argv[0], type | parse_mode(argv[2]), dev));
}

static void do_link(char **argv, int argc, struct result *r)
{
	set_err(r, link(argv[0], argv[1]));
}

static void do_symlink(char **argv, int argc, struct result *r)
{
	set_err(r, symlink(argv[0], argv[1]));
}

static void do_rename(char **argv, int argc, struct result *r)
{
	set_err(r, rename(argv[0], argv[1]));
}

static void do_renameat2(char **argv, int argc, struct result *r)
{
	unsigned int flags =
	    (unsigned int)parse_flags("rename flag", rename_flags, argv[2]);

	set_err(r, renameat2(AT_FDCWD, argv[0], AT_FDCWD, argv[1], flags));
}

static void do_truncate(char **argv, int argc, struct result *r)
{
	set_err(r, truncate(argv[0], (off_t)parse_num("length", argv[1])));
}

static void do_ftruncate(char **argv, int argc, struct result *r)
{
	int opened, fd = get_fd(argv[0], O_WRONLY, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, ftruncate(fd, (off_t)parse_num("length", argv[1])));
	if (opened)
		close(fd);
}

static void do_chmod(char **argv, int argc, struct result *r)
{
	set_err(r, chmod(argv[0], parse_mode(argv[1])));
}

static void do_fchmod(char **argv, int argc, struct result *r)
{
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, fchmod(fd, parse_mode(argv[1])));
	if (opened)
		close(fd);
}

static void do_chown(char **argv, int argc, struct result *r)
{
	set_err(r, chown(argv[0], (uid_t)parse_num("uid", argv[1]),
			 (gid_t)parse_num("gid", argv[2])));
}

static void do_lchown(char **argv, int argc, struct result *r)
{
	set_err(r, lchown(argv[0], (uid_t)parse_num("uid", argv[1]),
			  (gid_t)parse_num("gid", argv[2])));
}

static void do_utimensat(char **argv, int argc, struct result *r)
{
	struct timespec ts[2] = {parse_time(argv[1]), parse_time(argv[2])};
	int flags =
	    argc > 3 ? (int)parse_flags("at flag", at_flags, argv[3]) : 0;

	set_err(r, utimensat(AT_FDCWD, argv[0], ts, flags));
}

static void do_futimens(char **argv, int argc, struct result *r)
{
	struct timespec ts[2] = {parse_time(argv[1]), parse_time(argv[2])};
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, futimens(fd, ts));
	if (opened)
		close(fd);
}

static void do_readlink(char **argv, int argc, struct result *r)
{
	char buf[PATH_MAX + 1];
	ssize_t len = readlink(argv[0], buf, sizeof(buf) - 1);

	set_err(r, (long)len);
	if (len >= 0) {
		buf[len] = '\0';
		r->str = strdup(buf);
	}
}

static void print_stat_field(struct result *r, const struct stat *st,
			     const char *field)
{
	char buf[64];

	if (strcmp(field, "type") == 0)
		snprintf(buf, sizeof(buf), "%s", type_name(st->st_mode));
	else if (strcmp(field, "mode") == 0)
		snprintf(buf, sizeof(buf), "0%o", st->st_mode & 07777);
	else if (strcmp(field, "nlink") == 0)
		snprintf(buf, sizeof(buf), "%lu", (unsigned long)st->st_nlink);
	else if (strcmp(field, "uid") == 0)
		snprintf(buf, sizeof(buf), "%u", st->st_uid);
	else if (strcmp(field, "gid") == 0)
		snprintf(buf, sizeof(buf), "%u", st->st_gid);
	else if (strcmp(field, "size") == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)st->st_size);
	else if (strcmp(field, "ino") == 0)
		snprintf(buf, sizeof(buf), "%llu",
			 (unsigned long long)st->st_ino);
	else if (strcmp(field, "blocks") == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)st->st_blocks);
	else if (strcmp(field, "rdev") == 0)
		snprintf(buf, sizeof(buf), "%u,%u", major(st->st_rdev),
			 minor(st->st_rdev));
	else if (strcmp(field, "atime") == 0)
		snprintf(buf, sizeof(buf), "%lld.%09ld",
			 (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec);
	else if (strcmp(field, "mtime") == 0)
		snprintf(buf, sizeof(buf), "%lld.%09ld",
			 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	else if (strcmp(field, "ctime") == 0)
		snprintf(buf, sizeof(buf), "%lld.%09ld",
			 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	else
		usage_error("unknown stat field '%s'", field);
	r->str = strdup(buf);
}

static void stat_common(char **argv, int argc, struct result *r, int nofollow)
{
	struct stat st;
	int ret = nofollow ? lstat(argv[0], &st) : stat(argv[0], &st);

	set_err(r, ret);
	if (ret == 0 && argc > 1)
		print_stat_field(r, &st, argv[1]);
}

static void do_stat(char **argv, int argc, struct result *r)
{
	stat_common(argv, argc, r, 0);
}

static void do_lstat(char **argv, int argc, struct result *r)
{
	stat_common(argv, argc, r, 1);
}

/* fstat FD|PATH [FIELD]: works on an unlinked file kept open, too. */
static void do_fstat(char **argv, int argc, struct result *r)
{
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);
	struct stat st;
	int ret;

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	ret = fstat(fd, &st);
	set_err(r, ret);
	if (ret == 0 && argc > 1)
		print_stat_field(r, &st, argv[1]);
	if (opened)
		close(fd);
}

static void do_access(char **argv, int argc, struct result *r)
{
	int mode = (int)parse_flags("access mode", access_modes, argv[1]);

	set_err(r, access(argv[0], mode));
}

/* An xattr value is printed as text, as getfattr would show it quoted. */
static void xattr_get(char **argv, struct result *r, int nofollow)
{
	char buf[65536];
	ssize_t len = nofollow ? lgetxattr(argv[0], argv[1], buf, sizeof(buf))
			       : getxattr(argv[0], argv[1], buf, sizeof(buf));

	set_err(r, (long)len);
	if (len >= 0)
		r->str = strndup(buf, (size_t)len);
}

static void do_getxattr(char **argv, int argc, struct result *r)
{
	xattr_get(argv, r, 0);
}

static void do_lgetxattr(char **argv, int argc, struct result *r)
{
	xattr_get(argv, r, 1);
}

static void xattr_set(char **argv, int argc, struct result *r, int nofollow)
{
	int flags =
	    argc > 3 ? (int)parse_flags("xattr flag", xattr_flags, argv[3]) : 0;
	size_t len = strlen(argv[2]);

	if (nofollow)
		set_err(r, lsetxattr(argv[0], argv[1], argv[2], len, flags));
	else
		set_err(r, setxattr(argv[0], argv[1], argv[2], len, flags));
}

static void do_setxattr(char **argv, int argc, struct result *r)
{
	xattr_set(argv, argc, r, 0);
}

static void do_lsetxattr(char **argv, int argc, struct result *r)
{
	xattr_set(argv, argc, r, 1);
}

static void do_removexattr(char **argv, int argc, struct result *r)
{
	set_err(r, removexattr(argv[0], argv[1]));
}

static void do_lremovexattr(char **argv, int argc, struct result *r)
{
	set_err(r, lremovexattr(argv[0], argv[1]));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names sorted and joined with commas; an empty list prints "-". */
static char *join_names(char *list, size_t len)
{
	char *names[4096], *out, *p;
	size_t n = 0, i, total = 2;

	for (p = list; p < list + len && n < 4096; p += strlen(p) + 1) {
		names[n++] = p;
		total += strlen(p) + 1;
	}
	if (n == 0)
		return strdup("-");
	qsort(names, n, sizeof(names[0]), cmp_str);
	out = calloc(1, total);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
	}
	return out;
}

static void xattr_list(char **argv, struct result *r, int nofollow)
{
	char buf[65536];
	ssize_t len = nofollow ? llistxattr(argv[0], buf, sizeof(buf))
			       : listxattr(argv[0], buf, sizeof(buf));

	set_err(r, (long)len);
	if (len >= 0)
		r->str = join_names(buf, (size_t)len);
}

static void do_listxattr(char **argv, int argc, struct result *r)
{
	xattr_list(argv, r, 0);
}

static void do_llistxattr(char **argv, int argc, struct result *r)
{
	xattr_list(argv, r, 1);
}

static void do_lseek(char **argv, int argc, struct result *r)
{
	int whence = (int)parse_flags("whence", whences, argv[2]);
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);
	off_t off;

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	off = lseek(fd, (off_t)parse_num("offset", argv[1]), whence);
	set_err(r, (long)off);
	r->num = off;
	if (opened)
		close(fd);
}

static void do_fallocate(char **argv, int argc, struct result *r)
{
	int mode = (int)parse_flags("fallocate mode", falloc_flags, argv[1]);
	int opened, fd = get_fd(argv[0], O_RDWR, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, fallocate(fd, mode, (off_t)parse_num("offset", argv[2]),
			     (off_t)parse_num("length", argv[3])));
	if (opened)
		close(fd);
}

static void do_copy_file_range(char **argv, int argc, struct result *r)
{
	int in_opened, out_opened, in, out;
	loff_t off_in = (loff_t)parse_num("offset", argv[1]);
	loff_t off_out = (loff_t)parse_num("offset", argv[3]);
	size_t len = (size_t)parse_num("length", argv[4]);
	ssize_t n;

	in = get_fd(argv[0], O_RDONLY, &in_opened);
	if (in < 0) {
		set_err(r, in);
		return;
	}
	out = get_fd(argv[2], O_WRONLY, &out_opened);
	if (out < 0) {
		set_err(r, out);
	} else {
		n = copy_file_range(in, &off_in, out, &off_out, len, 0);
		set_err(r, (long)n);
		r->num = n;
		if (out_opened)
			close(out);
	}
	if (in_opened)
		close(in);
}

/* read FD|PATH OFFSET LENGTH: prints the number of bytes read. */
static void do_read(char **argv, int argc, struct result *r)
{
	size_t len = (size_t)parse_num("length", argv[2]);
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);
	char *buf;
	ssize_t n;

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	/* Aligned, so that O_DIRECT descriptors can be read too. */
	if (posix_memalign((void **)&buf, 4096, len ? len : 1))
		usage_error("out of memory");
	n = pread(fd, buf, len, (off_t)parse_num("offset", argv[1]));
	set_err(r, (long)n);
	r->num = n;
	free(buf);
	if (opened)
		close(fd);
}

/* write FD|PATH OFFSET DATA: prints the number of bytes written. With a
 * descriptor opened O_APPEND the offset is ignored by the kernel. */
static void do_write(char **argv, int argc, struct result *r)
{
	size_t len = strlen(argv[2]);
	int opened, fd = get_fd(argv[0], O_WRONLY, &opened);
	ssize_t n;

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	n = pwrite(fd, argv[2], len, (off_t)parse_num("offset", argv[1]));
	set_err(r, (long)n);
	r->num = n;
	if (opened)
		close(fd);
}

static void do_fsync(char **argv, int argc, struct result *r)
{
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, fsync(fd));
	if (opened)
		close(fd);
}

static void do_flock(char **argv, int argc, struct result *r)
{
	int op = (int)parse_flags("flock operation", flock_ops, argv[1]);
	int opened, fd = get_fd(argv[0], O_RDONLY, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, flock(fd, op));
	/* A lock on a descriptor opened here would go with it: keep it. */
	if (opened && nfds < MAX_FDS)
		fds[nfds++] = fd;
}

/* setlk FD|PATH TYPE START LEN: F_SETLK, a POSIX byte-range lock. */
static void do_setlk(char **argv, int argc, struct result *r)
{
	struct flock fl = {
	    .l_type = (short)parse_flags("lock type", lock_types, argv[1]),
	    .l_whence = SEEK_SET,
	    .l_start = (off_t)parse_num("start", argv[2]),
	    .l_len = (off_t)parse_num("length", argv[3]),
	};
	int opened, fd = get_fd(argv[0], O_RDWR, &opened);

	if (fd < 0) {
		set_err(r, fd);
		return;
	}
	set_err(r, fcntl(fd, F_SETLK, &fl));
	if (opened && nfds < MAX_FDS)
		fds[nfds++] = fd;
}

/* hold: wait until standard input reaches end of file, keeping every
 * descriptor (and lock) of the chain. Prints 0 before it waits. */
static void do_hold(char **argv, int argc, struct result *r)
{
	char buf[64];

	printf("0\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	r->str = NULL;
	r->num = -1; /* already printed */
}

/* clang-format off */
static const struct call calls[] = {
	{ "open", 2, 3, do_open, "PATH FLAGS[,FLAG...] [MODE]" },
	{ "close", 1, 1, do_close, "%N" },
	{ "unlink", 1, 1, do_unlink, "PATH" },
	{ "rmdir", 1, 1, do_rmdir, "PATH" },
	{ "mkdir", 2, 2, do_mkdir, "PATH MODE" },
	{ "mknod", 3, 5, do_mknod,
	  "PATH reg|fifo|sock|char|block MODE [MAJOR MINOR]" },
	{ "link", 2, 2, do_link, "OLD NEW" },
	{ "symlink", 2, 2, do_symlink, "TARGET PATH" },
	{ "rename", 2, 2, do_rename, "OLD NEW" },
	{ "renameat2", 3, 3, do_renameat2, "OLD NEW 0|NOREPLACE|EXCHANGE" },
	{ "truncate", 2, 2, do_truncate, "PATH LENGTH" },
	{ "ftruncate", 2, 2, do_ftruncate, "FD|PATH LENGTH" },
	{ "chmod", 2, 2, do_chmod, "PATH MODE" },
	{ "fchmod", 2, 2, do_fchmod, "FD|PATH MODE" },
	{ "chown", 3, 3, do_chown, "PATH UID GID" },
	{ "lchown", 3, 3, do_lchown, "PATH UID GID" },
	{ "utimensat", 3, 4, do_utimensat,
	  "PATH ATIME MTIME [AT_SYMLINK_NOFOLLOW] (SEC[.FRACTION]|NOW|OMIT)" },
	{ "futimens", 3, 3, do_futimens, "FD|PATH ATIME MTIME" },
	{ "readlink", 1, 1, do_readlink, "PATH" },
	{ "stat", 1, 2, do_stat, "PATH [FIELD]" },
	{ "lstat", 1, 2, do_lstat, "PATH [FIELD]" },
	{ "fstat", 1, 2, do_fstat, "FD|PATH [FIELD]" },
	{ "access", 2, 2, do_access, "PATH F_OK|R_OK,W_OK,X_OK" },
	{ "getxattr", 2, 2, do_getxattr, "PATH NAME" },
	{ "lgetxattr", 2, 2, do_lgetxattr, "PATH NAME" },
	{ "setxattr", 3, 4, do_setxattr, "PATH NAME VALUE [CREATE|REPLACE]" },
	{ "lsetxattr", 3, 4, do_lsetxattr,
	  "PATH NAME VALUE [CREATE|REPLACE]" },
	{ "removexattr", 2, 2, do_removexattr, "PATH NAME" },
	{ "lremovexattr", 2, 2, do_lremovexattr, "PATH NAME" },
	{ "listxattr", 1, 1, do_listxattr, "PATH" },
	{ "llistxattr", 1, 1, do_llistxattr, "PATH" },
	{ "lseek", 3, 3, do_lseek, "FD|PATH OFFSET WHENCE" },
	{ "fallocate", 4, 4, do_fallocate,
	  "FD|PATH 0|KEEP_SIZE,PUNCH_HOLE,... OFFSET LENGTH" },
	{ "copy_file_range", 5, 5, do_copy_file_range,
	  "IN OFF_IN OUT OFF_OUT LENGTH" },
	{ "read", 3, 3, do_read, "FD|PATH OFFSET LENGTH" },
	{ "write", 3, 3, do_write, "FD|PATH OFFSET DATA" },
	{ "fsync", 1, 1, do_fsync, "FD|PATH" },
	{ "flock", 2, 2, do_flock, "FD|PATH LOCK_SH|LOCK_EX|LOCK_UN[,LOCK_NB]" },
	{ "setlk", 4, 4, do_setlk, "FD|PATH F_RDLCK|F_WRLCK|F_UNLCK START LEN" },
	{ "hold", 0, 0, do_hold, "" },
	{ NULL, 0, 0, NULL, NULL }
};

/* clang-format on */

static void print_usage(void)
{
	int i;

	fprintf(stderr, "usage: vnop SYSCALL ARGS... [: SYSCALL ARGS...]...\n"
			"descriptors from open are %%0, %%1, ...\n"
			"stat fields: type mode nlink uid gid size ino blocks "
			"rdev atime mtime ctime\n");
	for (i = 0; calls[i].name; i++)
		fprintf(stderr, "  %s %s\n", calls[i].name, calls[i].usage);
}

static const struct call *find_call(const char *name)
{
	int i;

	for (i = 0; calls[i].name; i++)
		if (strcmp(calls[i].name, name) == 0)
			return &calls[i];
	usage_error("unknown syscall '%s' (run vnop without arguments for "
		    "the list)",
		    name);
	return NULL;
}

/* Run one call of argc words at argv. Returns its errno (0 on success). */
static int run_one(char **argv, int argc)
{
	const struct call *c = find_call(argv[0]);
	struct result r = {0, 0, NULL};

	if (argc - 1 < c->min_args || argc - 1 > c->max_args)
		usage_error("usage: %s %s", c->name, c->usage);
	c->fn(argv + 1, argc - 1, &r);
	if (r.err)
		printf("%s\n", errno_name(r.err));
	else if (r.str)
		printf("%s\n", r.str);
	else if (c->fn != do_hold)
		printf("%lld\n", r.num);
	fflush(stdout);
	free(r.str);
	return r.err;
}

int main(int argc, char *argv[])
{
	int start = 1, i;

	if (argc < 2) {
		print_usage();
		return 2;
	}
	for (i = 1; i <= argc; i++) {
		if (i < argc && strcmp(argv[i], ":") != 0)
			continue;
		if (i == start)
			usage_error("empty call in the chain");
		if (run_one(argv + start, i - start))
			break;
		start = i + 1;
	}
	return 0;
}
