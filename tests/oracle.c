/* oracle: randomized differential testing of two directory trees.
 *
 *	oracle [-s SEED] [-n STEPS] [-j PROCS] [-q] TREE_A TREE_B
 *
 * Applies one random, seeded sequence of operations to TREE_A and TREE_B
 * at once (a veneerfs mount and plain ext4, or a veneerfs overlay and the
 * kernel's overlayfs over identical layers) and compares every result:
 * return value, errno, data read, attributes, listings. At the end the
 * whole trees are compared (types, modes, owners, sizes, contents, link
 * counts, symlink targets, user xattrs, listings).
 *
 * With -j PROCS, PROCS processes run at once, each on its own subtree
 * "pN" of both trees (so each one's sequence stays deterministic), and all
 * append checksummed records to one shared file of TREE_A; at the end
 * every record must be there, whole (no lost or torn write).
 *
 * On a mismatch it prints the seed, the step, what differed and the steps
 * that led there (a shortened reproduction), and exits 1. Exit 0: clean;
 * 2: usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define NSLOTS 6
#define MAX_IO (96 * 1024)
#define MAX_OFF (256 * 1024)
#define HISTORY 48
#define SHARED_NAME "shared.log"

struct side {
	int root;		/* O_PATH fd of the tree (or subtree) */
	int fd[NSLOTS];		/* open files, -1 if none */
};

struct oracle {
	uint64_t rng;
	uint64_t seed;
	long step;
	struct side a, b;
	char hist[HISTORY][160];
	int nhist;
	char prefix[32];	/* "" or "pN/" in concurrent mode */
};

static uint64_t rnd(struct oracle *o)
{
	/* xorshift64*: small, fast and reproducible from the seed. */
	o->rng ^= o->rng >> 12;
	o->rng ^= o->rng << 25;
	o->rng ^= o->rng >> 27;
	return o->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int pick(struct oracle *o, unsigned int n)
{
	return (unsigned int)(rnd(o) % n);
}

static void note(struct oracle *o, const char *fmt, ...)
{
	va_list ap;
	char *line = o->hist[o->nhist++ % HISTORY];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(o->hist[0]), fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) mismatch(struct oracle *o,
					       const char *fmt, ...)
{
	va_list ap;
	int i, first = o->nhist > HISTORY ? o->nhist - HISTORY : 0;

	fprintf(stderr, "oracle: MISMATCH seed %" PRIu64 " step %ld%s%s: ",
		o->seed, o->step, *o->prefix ? " in " : "", o->prefix);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsteps that led there (last %d):\n",
		o->nhist - first);
	for (i = first; i < o->nhist; i++)
		fprintf(stderr, "  %s\n", o->hist[i % HISTORY]);
	fprintf(stderr, "reproduce: oracle -s %" PRIu64 " -n %ld A B\n",
		o->seed, o->step + 1);
	exit(1);
}

/* Results of one call on each side. */
struct res {
	long ret;
	int err;
};

static struct res res_of(long ret)
{
	struct res r = { ret, ret < 0 ? errno : 0 };

	return r;
}

static const char *err_name(int e)
{
	static char buf[16];

	if (!e)
		return "0";
	snprintf(buf, sizeof(buf), "%s", strerrorname_np(e) ?: "E?");
	return buf;
}

/* Same outcome: both failed alike, or both succeeded (with the same value
 * when exact is set). */
static void check(struct oracle *o, const char *what, struct res a,
		  struct res b, bool exact)
{
	if ((a.ret < 0) != (b.ret < 0) || a.err != b.err ||
	    (exact && a.ret != b.ret)) {
		char ea[16];

		snprintf(ea, sizeof(ea), "%s", err_name(a.err));
		mismatch(o, "%s: A gave %ld (%s), B gave %ld (%s)", what, a.ret,
			 ea, b.ret, err_name(b.err));
	}
}

/* A random relative path of 1 to 3 components from a small pool, so that
 * operations meet each other's names. */
static void rand_path(struct oracle *o, char *buf, size_t size)
{
	static const char *const names[] = { "a", "b", "c", "d" };
	int depth = 1 + (int)pick(o, 3), i;
	size_t len;

	snprintf(buf, size, "%s", o->prefix);
	for (i = 0; i < depth; i++) {
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i ? "/" : "",
			 names[pick(o, 4)]);
	}
}

static void fill(struct oracle *o, char *buf, size_t n)
{
	uint64_t x = rnd(o);
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (char)(x >> (8 * (i % 8)));
	}
}

static int slot_pair(struct oracle *o, int *fa, int *fb)
{
	int s = (int)pick(o, NSLOTS);

	*fa = o->a.fd[s];
	*fb = o->b.fd[s];
	return s;
}

/* ---------- operations: each does the same on both sides ---------- */

static void op_open(struct oracle *o)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };
	char p[64];
	int s = (int)pick(o, NSLOTS), flags, mode = 0600 | (int)pick(o, 0100);
	struct res ra, rb;

	rand_path(o, p, sizeof(p));
	flags = acc[pick(o, 3)];
	if (pick(o, 2))
		flags |= O_CREAT;
	if (pick(o, 4) == 0)
		flags |= O_EXCL;
	if (pick(o, 5) == 0)
		flags |= O_TRUNC;
	if (pick(o, 5) == 0)
		flags |= O_APPEND;
	if (pick(o, 8) == 0)
		flags |= O_DIRECTORY;
	if (pick(o, 4) == 0)
		flags |= O_NOFOLLOW;
	note(o, "open %s flags %#o mode %o -> slot %d", p, flags, mode, s);
	if (o->a.fd[s] >= 0)
		close(o->a.fd[s]);
	if (o->b.fd[s] >= 0)
		close(o->b.fd[s]);
	ra = res_of(openat(o->a.root, p, flags | O_CLOEXEC, mode));
	rb = res_of(openat(o->b.root, p, flags | O_CLOEXEC, mode));
	o->a.fd[s] = (int)ra.ret;
	o->b.fd[s] = (int)rb.ret;
	check(o, "open", ra, rb, false);
}

static void op_close(struct oracle *o)
{
	int fa, fb, s = slot_pair(o, &fa, &fb);

	note(o, "close slot %d", s);
	if (fa >= 0)
		check(o, "close", res_of(close(fa)), res_of(close(fb)), true);
	o->a.fd[s] = o->b.fd[s] = -1;
}

static void op_write(struct oracle *o)
{
	static char buf[MAX_IO];
	int fa, fb, s = slot_pair(o, &fa, &fb);
	size_t n = pick(o, MAX_IO) + 1;
	off_t off = pick(o, MAX_OFF);

	if (fa < 0)
		return;
	fill(o, buf, n);
	note(o, "pwrite slot %d off %jd len %zu", s, (intmax_t)off, n);
	check(o, "pwrite", res_of(pwrite(fa, buf, n, off)),
	      res_of(pwrite(fb, buf, n, off)), true);
}

static void op_read(struct oracle *o)
{
	static char ba[MAX_IO], bb[MAX_IO];
	int fa, fb, s = slot_pair(o, &fa, &fb);
	size_t n = pick(o, MAX_IO) + 1;
	off_t off = pick(o, MAX_OFF);
	struct res ra, rb;

	if (fa < 0)
		return;
	note(o, "pread slot %d off %jd len %zu", s, (intmax_t)off, n);
	ra = res_of(pread(fa, ba, n, off));
	rb = res_of(pread(fb, bb, n, off));
	check(o, "pread", ra, rb, true);
	if (ra.ret > 0 && memcmp(ba, bb, (size_t)ra.ret) != 0)
		mismatch(o, "pread: the data differs");
}

/* Map the start of the file: compare what is read through the maps, or
 * write through them and sync. */
static void op_mmap(struct oracle *o)
{
	int fa, fb, s = slot_pair(o, &fa, &fb), wr = (int)pick(o, 2);
	struct stat sa, sb;
	size_t len;
	char *ma, *mb;

	if (fa < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0 ||
	    !S_ISREG(sa.st_mode) || sa.st_size == 0 || sa.st_size != sb.st_size)
		return;
	len = (size_t)sa.st_size < MAX_IO ? (size_t)sa.st_size : MAX_IO;
	note(o, "mmap slot %d len %zu %s", s, len, wr ? "write" : "read");
	ma = mmap(NULL, len, PROT_READ | (wr ? PROT_WRITE : 0), MAP_SHARED,
		  fa, 0);
	mb = mmap(NULL, len, PROT_READ | (wr ? PROT_WRITE : 0), MAP_SHARED,
		  fb, 0);
	check(o, "mmap", res_of(ma == MAP_FAILED ? -1 : 0),
	      res_of(mb == MAP_FAILED ? -1 : 0), true);
	if (ma == MAP_FAILED)
		return;
	if (wr) {
		size_t off = pick(o, (unsigned int)len);
		size_t n = 1 + pick(o, (unsigned int)(len - off));

		fill(o, ma + off, n);
		memcpy(mb + off, ma + off, n);
		check(o, "msync", res_of(msync(ma, len, MS_SYNC)),
		      res_of(msync(mb, len, MS_SYNC)), true);
	} else if (memcmp(ma, mb, len) != 0) {
		mismatch(o, "mmap: the data differs");
	}
	munmap(ma, len);
	munmap(mb, len);
}

/* O_DIRECT with aligned buffers, offsets and sizes (as ext4 demands). */
static void op_direct(struct oracle *o)
{
	char p[64];
	void *buf;
	size_t n = 4096 * (1 + pick(o, 8));
	off_t off = 4096 * (off_t)pick(o, 32);
	int wr = (int)pick(o, 2), fa, fb;
	struct res ra, rb;

	rand_path(o, p, sizeof(p));
	if (posix_memalign(&buf, 4096, n))
		return;
	note(o, "O_DIRECT %s %s off %jd len %zu", wr ? "write" : "read", p,
	     (intmax_t)off, n);
	fa = openat(o->a.root, p, O_RDWR | O_DIRECT | O_CLOEXEC);
	ra = res_of(fa);
	fb = openat(o->b.root, p, O_RDWR | O_DIRECT | O_CLOEXEC);
	rb = res_of(fb);
	check(o, "open O_DIRECT", ra, rb, false);
	if (fa >= 0) {
		if (wr) {
			fill(o, buf, n);
			ra = res_of(pwrite(fa, buf, n, off));
			rb = res_of(pwrite(fb, buf, n, off));
			check(o, "O_DIRECT pwrite", ra, rb, true);
		} else {
			void *bb;

			if (posix_memalign(&bb, 4096, n) == 0) {
				ra = res_of(pread(fa, buf, n, off));
				rb = res_of(pread(fb, bb, n, off));
				check(o, "O_DIRECT pread", ra, rb, true);
				if (ra.ret > 0 &&
				    memcmp(buf, bb, (size_t)ra.ret) != 0)
					mismatch(o, "O_DIRECT: the data "
						    "differs");
				free(bb);
			}
		}
		close(fa);
		close(fb);
	}
	free(buf);
}

static void op_truncate(struct oracle *o)
{
	char p[64];
	off_t len = pick(o, MAX_OFF);

	rand_path(o, p, sizeof(p));
	note(o, "truncate %s %jd", p, (intmax_t)len);
	/* By path, through the mount's own tree fds. */
	int fa = openat(o->a.root, p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	int fb = openat(o->b.root, p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	check(o, "open for truncate", res_of(fa), res_of(fb), false);
	if (fa >= 0) {
		check(o, "ftruncate", res_of(ftruncate(fa, len)),
		      res_of(ftruncate(fb, len)), true);
		close(fa);
		close(fb);
	}
}

static void op_fallocate(struct oracle *o)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
	};
	int fa, fb, s = slot_pair(o, &fa, &fb), m = modes[pick(o, 3)];
	off_t off = pick(o, MAX_OFF), len = 1 + pick(o, MAX_IO);

	if (fa < 0)
		return;
	note(o, "fallocate slot %d mode %#x off %jd len %jd", s, m,
	     (intmax_t)off, (intmax_t)len);
	check(o, "fallocate", res_of(fallocate(fa, m, off, len)),
	      res_of(fallocate(fb, m, off, len)), true);
}

static void op_rename(struct oracle *o)
{
	static const unsigned int fl[] = { 0, 0, RENAME_NOREPLACE,
					   RENAME_EXCHANGE };
	char p[64], q[64];
	unsigned int f = fl[pick(o, 4)];

	rand_path(o, p, sizeof(p));
	rand_path(o, q, sizeof(q));
	note(o, "rename %s %s flags %u", p, q, f);
	check(o, "rename",
	      res_of(renameat2(o->a.root, p, o->a.root, q, f)),
	      res_of(renameat2(o->b.root, p, o->b.root, q, f)), true);
}

static void op_link(struct oracle *o)
{
	char p[64], q[64];

	rand_path(o, p, sizeof(p));
	rand_path(o, q, sizeof(q));
	note(o, "link %s %s", p, q);
	check(o, "link", res_of(linkat(o->a.root, p, o->a.root, q, 0)),
	      res_of(linkat(o->b.root, p, o->b.root, q, 0)), true);
}

static void op_symlink(struct oracle *o)
{
	/* Relative and without "..": they resolve inside the tree (a path
	 * through one must not reach the other tree). */
	static const char *const targets[] = { "a", "b/c", "c/d", "d",
					       "nowhere" };
	const char *t = targets[pick(o, 5)];
	char p[64];

	rand_path(o, p, sizeof(p));
	note(o, "symlink %s -> %s", p, t);
	check(o, "symlink", res_of(symlinkat(t, o->a.root, p)),
	      res_of(symlinkat(t, o->b.root, p)), true);
}

static void op_unlink(struct oracle *o)
{
	char p[64];
	int dir = (int)pick(o, 3) == 0 ? AT_REMOVEDIR : 0;

	rand_path(o, p, sizeof(p));
	note(o, "%s %s", dir ? "rmdir" : "unlink", p);
	check(o, dir ? "rmdir" : "unlink", res_of(unlinkat(o->a.root, p, dir)),
	      res_of(unlinkat(o->b.root, p, dir)), true);
}

static void op_mkdir(struct oracle *o)
{
	char p[64];
	mode_t m = 0700 | (mode_t)pick(o, 0100);

	rand_path(o, p, sizeof(p));
	note(o, "mkdir %s %o", p, m);
	check(o, "mkdir", res_of(mkdirat(o->a.root, p, m)),
	      res_of(mkdirat(o->b.root, p, m)), true);
}

static void op_chmod(struct oracle *o)
{
	char p[64];
	mode_t m = 0400 | (mode_t)pick(o, 07000 + 0377);

	rand_path(o, p, sizeof(p));
	note(o, "chmod %s %o", p, m);
	check(o, "chmod", res_of(fchmodat(o->a.root, p, m, 0)),
	      res_of(fchmodat(o->b.root, p, m, 0)), true);
}

static void op_chown(struct oracle *o)
{
	static const uid_t ids[] = { 0, 1000, 65534 };
	uid_t u = ids[pick(o, 3)];
	gid_t g = ids[pick(o, 3)];
	char p[64];

	rand_path(o, p, sizeof(p));
	note(o, "lchown %s %u:%u", p, u, g);
	check(o, "chown",
	      res_of(fchownat(o->a.root, p, u, g, AT_SYMLINK_NOFOLLOW)),
	      res_of(fchownat(o->b.root, p, u, g, AT_SYMLINK_NOFOLLOW)), true);
}

static void op_utimens(struct oracle *o)
{
	struct timespec ts[2] = {
		{ 1000000000 + (time_t)pick(o, 100000), (long)pick(o, 1000000000) },
		{ 1000000000 + (time_t)pick(o, 100000), (long)pick(o, 1000000000) },
	};
	char p[64];
	struct stat sa, sb;
	struct res ra, rb;

	rand_path(o, p, sizeof(p));
	note(o, "utimens %s %ld.%09ld", p, (long)ts[1].tv_sec, ts[1].tv_nsec);
	ra = res_of(utimensat(o->a.root, p, ts, AT_SYMLINK_NOFOLLOW));
	rb = res_of(utimensat(o->b.root, p, ts, AT_SYMLINK_NOFOLLOW));
	check(o, "utimens", ra, rb, true);
	if (ra.ret == 0 &&
	    fstatat(o->a.root, p, &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(o->b.root, p, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
	     sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec))
		mismatch(o, "utimens: mtime differs afterwards");
}

/* xattrs through /proc/self/fd of an O_PATH fd: never follows p. */
static long xattr_call(int root, const char *p, int what, const char *name,
		       char *val, size_t size)
{
	char path[64];
	int fd = openat(root, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	long r;
	int e;

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	switch (what) {
	case 0:
		r = setxattr(path, name, val, size, 0);
		break;
	case 1:
		r = removexattr(path, name);
		break;
	case 2:
		r = getxattr(path, name, val, size);
		break;
	default:
		r = listxattr(path, val, size);
		break;
	}
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static void op_xattr(struct oracle *o)
{
	static const char *const names[] = { "user.k0", "user.k1", "user.k2" };
	const char *name = names[pick(o, 3)];
	int what = (int)pick(o, 3);
	char va[256], vb[256], p[64];
	size_t n = 1 + pick(o, 64);
	struct res ra, rb;

	rand_path(o, p, sizeof(p));
	if (what == 0)
		fill(o, va, n);
	memcpy(vb, va, sizeof(vb));
	note(o, "%sxattr %s %s", what == 0 ? "set" : what == 1 ? "remove" :
		"get", p, name);
	ra = res_of(xattr_call(o->a.root, p, what, name, va, what ? 256 : n));
	rb = res_of(xattr_call(o->b.root, p, what, name, vb, what ? 256 : n));
	check(o, "xattr", ra, rb, true);
	if (what == 2 && ra.ret > 0 && memcmp(va, vb, (size_t)ra.ret) != 0)
		mismatch(o, "getxattr: the value differs");
}

static void op_fsync(struct oracle *o)
{
	int fa, fb, s = slot_pair(o, &fa, &fb);

	if (fa < 0)
		return;
	note(o, "fsync slot %d", s);
	check(o, "fsync", res_of(fsync(fa)), res_of(fsync(fb)), true);
}

/* ---------- comparing attributes and trees ---------- */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The sorted names in directory p of root, "." and ".." left out. */
static int list_dir(int root, const char *p, char ***out)
{
	int fd = openat(root, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
	char **names = NULL;
	struct dirent *de;
	int n = 0, cap = 0;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, (size_t)cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, (size_t)n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static void free_list(char **l, int n)
{
	while (n > 0)
		free(l[--n]);
	free(l);
}

static void op_readdir(struct oracle *o)
{
	char **la = NULL, **lb = NULL, p[64];
	int na, nb, i;

	rand_path(o, p, sizeof(p));
	if (pick(o, 2))
		snprintf(p, sizeof(p), "%s.", o->prefix);
	note(o, "readdir %s", p);
	na = list_dir(o->a.root, p, &la);
	nb = list_dir(o->b.root, p, &lb);
	if (na != nb)
		mismatch(o, "readdir %s: %d vs %d entries (or errors)", p, na, nb);
	for (i = 0; i < na; i++)
		if (strcmp(la[i], lb[i]) != 0)
			mismatch(o, "readdir %s: '%s' vs '%s'", p, la[i], lb[i]);
	if (na > 0) {
		free_list(la, na);
		free_list(lb, nb);
	}
}

/* Compare what matters of two lstat results: the same on ext4 and a
 * passthrough mount, and on both kinds of overlay. */
static void cmp_stat(struct oracle *o, const char *p, const struct stat *a,
		     const struct stat *b)
{
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid ||
	    a->st_gid != b->st_gid || a->st_nlink != b->st_nlink ||
	    (!S_ISDIR(a->st_mode) && a->st_size != b->st_size))
		mismatch(o, "stat %s: mode %o/%o uid %u/%u gid %u/%u nlink "
			    "%lu/%lu size %jd/%jd", p, a->st_mode, b->st_mode,
			 a->st_uid, b->st_uid, a->st_gid, b->st_gid,
			 (unsigned long)a->st_nlink, (unsigned long)b->st_nlink,
			 (intmax_t)a->st_size, (intmax_t)b->st_size);
}

static void op_stat(struct oracle *o)
{
	struct stat sa, sb;
	struct res ra, rb;
	char p[64];

	rand_path(o, p, sizeof(p));
	note(o, "lstat %s", p);
	ra = res_of(fstatat(o->a.root, p, &sa, AT_SYMLINK_NOFOLLOW));
	rb = res_of(fstatat(o->b.root, p, &sb, AT_SYMLINK_NOFOLLOW));
	check(o, "lstat", ra, rb, true);
	if (ra.ret == 0)
		cmp_stat(o, p, &sa, &sb);
}

static void cmp_file(struct oracle *o, const char *p)
{
	static char ba[MAX_IO], bb[MAX_IO];
	int fa = openat(o->a.root, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int fb = openat(o->b.root, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	off_t off = 0;
	ssize_t na, nb;

	check(o, "open to compare", res_of(fa), res_of(fb), false);
	if (fa < 0)
		return;
	do {
		na = pread(fa, ba, sizeof(ba), off);
		nb = pread(fb, bb, sizeof(bb), off);
		if (na != nb || (na > 0 && memcmp(ba, bb, (size_t)na) != 0))
			mismatch(o, "%s: contents differ at or after %jd", p,
				 (intmax_t)off);
		off += na > 0 ? na : 0;
	} while (na > 0);
	close(fa);
	close(fb);
}

static void cmp_xattrs(struct oracle *o, const char *p)
{
	char la[1024], lb[1024], va[256], vb[256], *n;
	long na = xattr_call(o->a.root, p, 3, NULL, la, sizeof(la));
	long nb = xattr_call(o->b.root, p, 3, NULL, lb, sizeof(lb));

	for (n = la; na > 0 && n < la + na; n += strlen(n) + 1) {
		long a, b;

		if (strncmp(n, "user.", 5) != 0)
			continue;
		a = xattr_call(o->a.root, p, 2, n, va, sizeof(va));
		b = xattr_call(o->b.root, p, 2, n, vb, sizeof(vb));
		if (a != b || (a > 0 && memcmp(va, vb, (size_t)a) != 0))
			mismatch(o, "%s: xattr %s differs", p, n);
	}
	for (n = lb; nb > 0 && n < lb + nb; n += strlen(n) + 1)
		if (strncmp(n, "user.", 5) == 0 &&
		    xattr_call(o->a.root, p, 2, n, va, sizeof(va)) < 0)
			mismatch(o, "%s: xattr %s only in B", p, n);
}

static void cmp_tree(struct oracle *o, const char *dir, int depth)
{
	char **la = NULL, **lb = NULL, p[PATH_MAX];
	int na = list_dir(o->a.root, dir, &la), nb, i;

	nb = list_dir(o->b.root, dir, &lb);
	if (na != nb)
		mismatch(o, "tree %s: %d vs %d entries", dir, na, nb);
	for (i = 0; i < na; i++) {
		struct stat sa, sb;

		if (strcmp(la[i], lb[i]) != 0)
			mismatch(o, "tree %s: '%s' vs '%s'", dir, la[i], lb[i]);
		snprintf(p, sizeof(p), "%s/%s", dir, la[i]);
		if (depth == 0 && strcmp(la[i], SHARED_NAME) == 0)
			continue; /* appended to by all: checked on its own */
		if (fstatat(o->a.root, p, &sa, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(o->b.root, p, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			mismatch(o, "tree %s: cannot stat", p);
		cmp_stat(o, p, &sa, &sb);
		cmp_xattrs(o, p);
		if (S_ISREG(sa.st_mode) && (sa.st_mode & 0444))
			cmp_file(o, p);
		if (S_ISLNK(sa.st_mode)) {
			char ta[PATH_MAX], tb[PATH_MAX];
			ssize_t a = readlinkat(o->a.root, p, ta, sizeof(ta));
			ssize_t b = readlinkat(o->b.root, p, tb, sizeof(tb));

			if (a != b || (a > 0 && memcmp(ta, tb, (size_t)a)))
				mismatch(o, "%s: symlink targets differ", p);
		}
		if (S_ISDIR(sa.st_mode) && depth < 16)
			cmp_tree(o, p, depth + 1);
	}
	if (na > 0) {
		free_list(la, na);
		free_list(lb, nb);
	}
}

/* ---------- running ---------- */

typedef void (*op_fn)(struct oracle *);

static const struct {
	op_fn fn;
	int weight;
} ops[] = {
	{ op_open, 12 },     { op_close, 4 },	 { op_write, 12 },
	{ op_read, 8 },	     { op_mmap, 3 },	 { op_direct, 2 },
	{ op_truncate, 3 },  { op_fallocate, 3 }, { op_rename, 6 },
	{ op_link, 3 },	     { op_symlink, 3 },	 { op_unlink, 6 },
	{ op_mkdir, 8 },     { op_chmod, 3 },	 { op_chown, 2 },
	{ op_utimens, 2 },   { op_xattr, 4 },	 { op_readdir, 4 },
	{ op_stat, 6 },	     { op_fsync, 2 },
};

static void run(struct oracle *o, long steps)
{
	int total = 0, i, r;

	for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		total += ops[i].weight;
	for (; steps > 0; steps--, o->step++) {
		r = (int)pick(o, (unsigned int)total);
		for (i = 0; r >= ops[i].weight; i++)
			r -= ops[i].weight;
		ops[i].fn(o);
	}
}

/* Close what is open, then compare the whole trees. */
static void finish(struct oracle *o)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		if (o->a.fd[i] >= 0)
			close(o->a.fd[i]);
		if (o->b.fd[i] >= 0)
			close(o->b.fd[i]);
		o->a.fd[i] = o->b.fd[i] = -1;
	}
	note(o, "compare the trees");
	cmp_tree(o, *o->prefix ? o->prefix : ".", 0);
}

static int open_root(const char *path)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "oracle: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void init(struct oracle *o, uint64_t seed, const char *a,
		 const char *b)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->seed = seed;
	o->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	o->a.root = open_root(a);
	o->b.root = open_root(b);
	for (i = 0; i < NSLOTS; i++)
		o->a.fd[i] = o->b.fd[i] = -1;
}

/* A record appended to the shared file: "<worker> <seq> <sum>\n", padded
 * to a fixed size so that a torn or lost one shows. */
#define RECORD 64

static void append_record(int fd, int worker, long seq)
{
	char rec[RECORD];
	unsigned long sum = (unsigned long)worker * 1000003UL + (unsigned long)seq;

	memset(rec, '.', sizeof(rec));
	snprintf(rec, sizeof(rec), "%d %ld %lu", worker, seq, sum);
	rec[strlen(rec)] = '.';
	rec[RECORD - 1] = '\n';
	if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec)) {
		perror("oracle: append");
		exit(1);
	}
}

static int check_records(const char *a, int procs, long per)
{
	char path[PATH_MAX], rec[RECORD + 1];
	long *next = calloc((size_t)procs, sizeof(*next));
	FILE *f;
	int w, bad = 0;
	long seq;
	unsigned long sum;

	snprintf(path, sizeof(path), "%s/" SHARED_NAME, a);
	f = fopen(path, "r");
	if (!f || !next) {
		fprintf(stderr, "oracle: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fread(rec, 1, RECORD, f) == RECORD) {
		rec[RECORD] = '\0';
		if (sscanf(rec, "%d %ld %lu", &w, &seq, &sum) != 3 || w < 0 ||
		    w >= procs || sum != (unsigned long)w * 1000003UL +
						 (unsigned long)seq ||
		    rec[RECORD - 1] != '\n' || seq != next[w]) {
			fprintf(stderr, "oracle: torn or misplaced record: "
					"%.*s\n", RECORD - 1, rec);
			bad = 1;
			break;
		}
		next[w]++;
	}
	for (w = 0; !bad && w < procs; w++)
		if (next[w] != per) {
			fprintf(stderr, "oracle: worker %d: %ld of %ld records\n",
				w, next[w], per);
			bad = 1;
		}
	fclose(f);
	free(next);
	return bad;
}

static int concurrent(uint64_t seed, long steps, int procs, const char *a,
		      const char *b)
{
	char path[PATH_MAX];
	int i, status, failed = 0, sfd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/" SHARED_NAME, a);
	sfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sfd < 0) {
		fprintf(stderr, "oracle: %s: %s\n", path, strerror(errno));
		return 2;
	}
	close(sfd);
	for (i = 0; i < procs; i++) {
		pid = fork();
		if (pid == 0) {
			struct oracle o;
			long s;

			init(&o, seed + (uint64_t)i, a, b);
			snprintf(o.prefix, sizeof(o.prefix), "p%d/", i);
			snprintf(path, sizeof(path), "p%d", i);
			mkdirat(o.a.root, path, 0755);
			mkdirat(o.b.root, path, 0755);
			snprintf(path, sizeof(path), "%s/" SHARED_NAME, a);
			sfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (sfd < 0)
				_exit(1);
			/* Interleave: a record every few steps. */
			for (s = 0; s < steps; s += 8) {
				run(&o, 8);
				append_record(sfd, i, s / 8);
			}
			close(sfd);
			finish(&o);
			_exit(0);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		return 1;
	return check_records(a, procs, (steps + 7) / 8);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	long steps = 1000;
	int procs = 0, c;
	bool quiet = false;
	struct oracle o;

	while ((c = getopt(argc, argv, "s:n:j:q")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			steps = strtol(optarg, NULL, 0);
			break;
		case 'j':
			procs = atoi(optarg);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || steps < 0 || procs < 0)
		goto usage;
	umask(022);
	if (procs > 0) {
		c = concurrent(seed, steps, procs, argv[optind],
			       argv[optind + 1]);
		if (!c && !quiet)
			printf("oracle: seed %" PRIu64 ": %d processes x %ld "
			       "steps clean\n", seed, procs, steps);
		return c;
	}
	init(&o, seed, argv[optind], argv[optind + 1]);
	run(&o, steps);
	finish(&o);
	if (!quiet)
		printf("oracle: seed %" PRIu64 ": %ld steps clean\n", seed,
		       steps);
	return 0;
usage:
	fprintf(stderr, "usage: oracle [-s SEED] [-n STEPS] [-j PROCS] [-q] "
			"TREE_A TREE_B\n");
	return 2;
}
