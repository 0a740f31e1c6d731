/* Wire-protocol fuzzing: the daemon's handlers are driven without the
 * kernel, through a libfuse session whose I/O is ours
 * (fuse_session_custom_io). Each input sets up a fresh backing tree (in
 * passthrough or overlay mode), sends INIT, then a sequence of FUSE
 * requests built from the input: any opcode, nodeid, offset, length, flags,
 * name and payload. After each input the harness checks what no request may
 * do: reply twice or not at all, leak a file descriptor or a memory block
 * (LeakSanitizer), leave the thread with another fsuid, or create or change
 * anything outside the backing tree.
 *
 * What the kernel guarantees is kept, as the daemon may rely on it: a file
 * handle (fh) is one the daemon returned, not yet released, sent with the
 * nodeid it was opened on and with a request of the right kind (a file's to
 * READ, a directory's to READDIR); fixed argument structs are whole; a
 * blocking lock request (SETLKW) is sent as SETLK, since one thread cannot
 * serve the request that would release the lock. Everything else is free.
 *
 * Built with libFuzzer by `make fuzz`; built as a plain program over
 * fuzz_replay.c, it replays the corpus in `make check`.
 *
 * Input format: byte 0 picks the mount (see setup_mount), then records:
 *   op node fh cred name1 name2 arglen arg[arglen] datalen data[datalen]
 * each one byte except arg and data. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64
#define MAX_NODES 128
#define MAX_HANDLES 32
#define PAD 512		/* zeros after each request: strings end */

/* The fh field's offset in an argument struct, for each kind of use. */
enum fh_use { FH_NONE, FH_FILE, FH_DIR, FH_GETATTR, FH_SETATTR, FH_COPY };

struct op_desc {
	uint32_t opcode;
	uint32_t argsize;	/* the fixed struct before any names */
	int names;		/* NUL-terminated names after it */
	bool data;		/* then the record's data */
	enum fh_use fh;
	size_t fh_off;		/* offset of fh in the struct */
};

#define D(op, type, nn, dat, use, fhoff) \
	{ op, sizeof(type), nn, dat, use, fhoff }
struct no_arg { char c[0]; };

static const struct op_desc ops[] = {
	D(FUSE_LOOKUP, struct no_arg, 1, false, FH_NONE, 0),
	D(FUSE_FORGET, struct fuse_forget_in, 0, false, FH_NONE, 0),
	D(FUSE_GETATTR, struct fuse_getattr_in, 0, false, FH_GETATTR,
	  offsetof(struct fuse_getattr_in, fh)),
	D(FUSE_SETATTR, struct fuse_setattr_in, 0, false, FH_SETATTR,
	  offsetof(struct fuse_setattr_in, fh)),
	D(FUSE_READLINK, struct no_arg, 0, false, FH_NONE, 0),
	D(FUSE_SYMLINK, struct no_arg, 2, false, FH_NONE, 0),
	D(FUSE_MKNOD, struct fuse_mknod_in, 1, false, FH_NONE, 0),
	D(FUSE_MKDIR, struct fuse_mkdir_in, 1, false, FH_NONE, 0),
	D(FUSE_UNLINK, struct no_arg, 1, false, FH_NONE, 0),
	D(FUSE_RMDIR, struct no_arg, 1, false, FH_NONE, 0),
	D(FUSE_RENAME, struct fuse_rename_in, 2, false, FH_NONE, 0),
	D(FUSE_LINK, struct fuse_link_in, 1, false, FH_NONE, 0),
	D(FUSE_OPEN, struct fuse_open_in, 0, false, FH_NONE, 0),
	D(FUSE_READ, struct fuse_read_in, 0, false, FH_FILE,
	  offsetof(struct fuse_read_in, fh)),
	D(FUSE_WRITE, struct fuse_write_in, 0, true, FH_FILE,
	  offsetof(struct fuse_write_in, fh)),
	D(FUSE_STATFS, struct no_arg, 0, false, FH_NONE, 0),
	D(FUSE_RELEASE, struct fuse_release_in, 0, false, FH_FILE,
	  offsetof(struct fuse_release_in, fh)),
	D(FUSE_FSYNC, struct fuse_fsync_in, 0, false, FH_FILE,
	  offsetof(struct fuse_fsync_in, fh)),
	/* Without FUSE_SETXATTR_EXT the struct is its first 8 bytes. */
	{ FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, 1, true, FH_NONE, 0 },
	D(FUSE_GETXATTR, struct fuse_getxattr_in, 1, false, FH_NONE, 0),
	D(FUSE_LISTXATTR, struct fuse_getxattr_in, 0, false, FH_NONE, 0),
	D(FUSE_REMOVEXATTR, struct no_arg, 1, false, FH_NONE, 0),
	D(FUSE_FLUSH, struct fuse_flush_in, 0, false, FH_FILE,
	  offsetof(struct fuse_flush_in, fh)),
	D(FUSE_OPENDIR, struct fuse_open_in, 0, false, FH_NONE, 0),
	D(FUSE_READDIR, struct fuse_read_in, 0, false, FH_DIR,
	  offsetof(struct fuse_read_in, fh)),
	D(FUSE_RELEASEDIR, struct fuse_release_in, 0, false, FH_DIR,
	  offsetof(struct fuse_release_in, fh)),
	D(FUSE_FSYNCDIR, struct fuse_fsync_in, 0, false, FH_DIR,
	  offsetof(struct fuse_fsync_in, fh)),
	D(FUSE_GETLK, struct fuse_lk_in, 0, false, FH_FILE,
	  offsetof(struct fuse_lk_in, fh)),
	D(FUSE_SETLK, struct fuse_lk_in, 0, false, FH_FILE,
	  offsetof(struct fuse_lk_in, fh)),
	D(FUSE_SETLKW, struct fuse_lk_in, 0, false, FH_FILE,
	  offsetof(struct fuse_lk_in, fh)),
	D(FUSE_ACCESS, struct fuse_access_in, 0, false, FH_NONE, 0),
	D(FUSE_CREATE, struct fuse_create_in, 1, false, FH_NONE, 0),
	D(FUSE_INTERRUPT, struct fuse_interrupt_in, 0, false, FH_NONE, 0),
	D(FUSE_BMAP, struct fuse_bmap_in, 0, false, FH_NONE, 0),
	D(FUSE_IOCTL, struct fuse_ioctl_in, 0, true, FH_FILE,
	  offsetof(struct fuse_ioctl_in, fh)),
	D(FUSE_POLL, struct fuse_poll_in, 0, false, FH_FILE,
	  offsetof(struct fuse_poll_in, fh)),
	D(FUSE_BATCH_FORGET, struct fuse_batch_forget_in, 0, true, FH_NONE,
	  0),
	D(FUSE_FALLOCATE, struct fuse_fallocate_in, 0, false, FH_FILE,
	  offsetof(struct fuse_fallocate_in, fh)),
	D(FUSE_READDIRPLUS, struct fuse_read_in, 0, false, FH_DIR,
	  offsetof(struct fuse_read_in, fh)),
	D(FUSE_RENAME2, struct fuse_rename2_in, 2, false, FH_NONE, 0),
	D(FUSE_LSEEK, struct fuse_lseek_in, 0, false, FH_FILE,
	  offsetof(struct fuse_lseek_in, fh)),
	D(FUSE_COPY_FILE_RANGE, struct fuse_copy_file_range_in, 0, false,
	  FH_COPY, offsetof(struct fuse_copy_file_range_in, fh_in)),
	/* An opcode no kernel sends. */
	{ 4000, 0, 0, true, FH_NONE, 0 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Names the fuzzer picks by number: ones in the tree, ones no kernel sends
 * (with '/', ".", ".."), whiteout names, and lengths around NAME_MAX. */
static const char *names[] = {
	"a", "b", "d", "sub", "f", "link", "abs", "up", "new", "x", "fifo",
	"lowonly", "deleted", "opq", "hl", "hl2", ".", "..", "", "d/f",
	"../outside/made", "../../escape", ".wh.a", ".wh..wh..opq",
	"/etc/passwd", "canary", "user.k", "trusted.overlay.opaque",
	"user.overlay.opaque", "system.posix_acl_access",
	"trusted.overlay.vn.ino", "security.fuseoverlayfs.override_stat",
	"gone",
	NULL, NULL, /* a 255 and a 256 byte name, filled in at start */
};
#define NNAMES (sizeof(names) / sizeof(names[0]))
static char name255[256], name256[257];

static bool verbose;		/* FUZZ_WIRE_VERBOSE: log requests */
static bool self_test_escape;	/* FUZZ_WIRE_SELF_TEST=escape */
static char sandbox[64];	/* holds back/, outside/ and mnt/ */
static int devnull = -1;

/* Replies and what they hand out. */
static struct {
	uint64_t unique;	/* of the request being processed */
	uint32_t opcode;
	uint64_t nodeid;
	int replies;
	/* INTERRUPTs sent, which libfuse may answer later. */
	uint64_t interrupts[MAX_RECORDS];
	int ninterrupts;
} cur;

static uint64_t nodes[MAX_NODES];
static int nnodes;

struct handle {
	uint64_t fh;
	uint64_t nodeid;
	bool dir;
};
static struct handle handles[MAX_HANDLES];
static int nhandles;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_wire: %s\n", what);
	abort();
}

static void note_node(uint64_t nodeid)
{
	if (nodeid && nnodes < MAX_NODES)
		nodes[nnodes++] = nodeid;
}

static void note_handle(uint64_t fh, uint64_t nodeid, bool dir)
{
	if (nhandles == MAX_HANDLES) {
		/* Keep the kernel's promise: a handle is released once. */
		fail("more open handles than the harness can track");
	}
	handles[nhandles++] = (struct handle){ fh, nodeid, dir };
}

static void parse_direntplus(const char *p, size_t len)
{
	while (len >= FUSE_NAME_OFFSET_DIRENTPLUS) {
		const struct fuse_direntplus *e = (const void *)p;
		size_t sz = FUSE_DIRENTPLUS_SIZE(e);

		if (sz > len)
			fail("READDIRPLUS reply with a truncated entry");
		note_node(e->entry_out.nodeid);
		p += sz;
		len -= sz;
	}
	if (len)
		fail("READDIRPLUS reply with trailing bytes");
}

/* What the daemon "writes to the kernel": check and harvest. */
static ssize_t wire_writev(int fd, struct iovec *iov, int count, void *ud)
{
	static char buf[2 << 20];
	struct fuse_out_header oh;
	size_t len = 0, bodylen;
	const char *body;
	int i;

	for (i = 0; i < count; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			fail("reply larger than any request allows");
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (len < sizeof(oh))
		fail("reply shorter than its header");
	memcpy(&oh, buf, sizeof(oh));
	if (oh.len != len)
		fail("reply length differs from its header");
	if (oh.unique == 0)
		return (ssize_t)len; /* a notification */
	if (oh.unique != cur.unique) {
		/* libfuse answers an INTERRUPT it cannot match yet with
		 * EAGAIN, when a later request comes in. */
		for (i = 0; i < cur.ninterrupts; i++)
			if (oh.unique == cur.interrupts[i] &&
			    oh.error == -EAGAIN) {
				cur.interrupts[i] = 0;
				return (ssize_t)len;
			}
		fail("reply to a request not being processed");
	}
	if (++cur.replies > 1)
		fail("two replies to one request");
	if (oh.error > 0 || oh.error < -4095)
		fail("reply with an impossible errno");
	if (verbose)
		fprintf(stderr, "reply %llu: %s\n",
			(unsigned long long)oh.unique, strerror(-oh.error));
	if (oh.error)
		return (ssize_t)len;
	body = buf + sizeof(oh);
	bodylen = len - sizeof(oh);
	switch (cur.opcode) {
	case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR:
	case FUSE_SYMLINK: case FUSE_LINK:
		if (bodylen < sizeof(struct fuse_entry_out))
			fail("short entry reply");
		note_node(((const struct fuse_entry_out *)body)->nodeid);
		break;
	case FUSE_CREATE:
		if (bodylen < sizeof(struct fuse_entry_out) +
			      sizeof(struct fuse_open_out))
			fail("short CREATE reply");
		note_node(((const struct fuse_entry_out *)body)->nodeid);
		note_handle(((const struct fuse_open_out *)
			     (body + sizeof(struct fuse_entry_out)))->fh,
			    ((const struct fuse_entry_out *)body)->nodeid,
			    false);
		break;
	case FUSE_OPEN: case FUSE_OPENDIR:
		if (bodylen < sizeof(struct fuse_open_out))
			fail("short OPEN reply");
		note_handle(((const struct fuse_open_out *)body)->fh,
			    cur.nodeid, cur.opcode == FUSE_OPENDIR);
		break;
	case FUSE_READDIRPLUS:
		parse_direntplus(body, bodylen);
		break;
	}
	return (ssize_t)len;
}

static ssize_t wire_read(int fd, void *buf, size_t len, void *ud)
{
	return 0; /* requests are handed over directly, never read */
}

static const struct fuse_custom_io wire_io = {
	.writev = wire_writev,
	.read = wire_read,
};

/* Hand one request to the session, as the receive loop would. */
static void send_req(struct fuse_session *se, char *req, size_t len)
{
	struct fuse_in_header *ih = (void *)req;
	struct fuse_buf fb = { .mem = req, .size = len };
	bool noreply = ih->opcode == FUSE_FORGET ||
		       ih->opcode == FUSE_BATCH_FORGET ||
		       ih->opcode == FUSE_INTERRUPT;

	ih->len = (uint32_t)len;
	ih->unique = ++cur.unique;
	cur.opcode = ih->opcode;
	cur.nodeid = ih->nodeid;
	cur.replies = 0;
	if (ih->opcode == FUSE_INTERRUPT && cur.ninterrupts < MAX_RECORDS)
		cur.interrupts[cur.ninterrupts++] = ih->unique;
	if (verbose)
		fprintf(stderr, "request %llu: op %u node %llu, %zu bytes\n",
			(unsigned long long)ih->unique, ih->opcode,
			(unsigned long long)ih->nodeid, len);
	fuse_session_process_buf(se, &fb);
	if (!noreply && cur.replies != 1)
		fail("a request got no reply");
}

static void send_init(struct fuse_session *se)
{
	char req[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in) +
		 PAD] = { 0 };
	struct fuse_in_header *ih = (void *)req;
	struct fuse_init_in *in = (void *)(ih + 1);

	ih->opcode = FUSE_INIT;
	in->major = FUSE_KERNEL_VERSION;
	in->minor = 31;
	in->max_readahead = 128 << 10;
	in->flags = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
		    FUSE_EXPORT_SUPPORT | FUSE_BIG_WRITES | FUSE_DONT_MASK |
		    FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA |
		    FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
		    FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
		    FUSE_CACHE_SYMLINKS | FUSE_POSIX_ACL | FUSE_WRITEBACK_CACHE;
	send_req(se, req, sizeof(*ih) + sizeof(*in));
}

static int put(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* A small tree in dir: files, a dir, a hard link, a fifo, and symlinks
 * that point out of the tree; in a lower layer also files the upper layer
 * hides. An upper layer holds only its own few objects, so that most of
 * what the mount shows lives below and changing it means a copy-up: a
 * file, a merged dir, a whiteout (device and .wh. formats) and an opaque
 * dir. */
enum layer_kind { SOURCE, LOWER, UPPER };

static void fill(const char *dir, enum layer_kind kind)
{
	char path[PATH_MAX + 16];
	int dfd;

	mkdir(dir, 0755);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		fail("cannot open a layer");
	fsetxattr(dfd, "user.k", "v", 1, 0);
	if (kind == UPPER) {
		put(dfd, "up", "upper only\n");
		mkdirat(dfd, "d", 0755);
		put(dfd, "d/new", "upper part of a merged dir\n");
		mknodat(dfd, "deleted", S_IFCHR | 0, makedev(0, 0));
		put(dfd, ".wh.gone", "");
		mkdirat(dfd, "opq", 0755);
		snprintf(path, sizeof(path), "%s/opq", dir);
		setxattr(path, "trusted.overlay.opaque", "y", 1, 0);
		close(dfd);
		return;
	}
	put(dfd, "a", "alpha\n");
	mkdirat(dfd, "d", 0755);
	put(dfd, "d/f", "in d\n");
	linkat(dfd, "a", dfd, "hl", 0);
	mkfifoat(dfd, "fifo", 0644);
	symlinkat("../outside/canary", dfd, "link");
	snprintf(path, sizeof(path), "%s/outside/canary", sandbox);
	symlinkat(path, dfd, "abs");
	if (kind == LOWER) {
		put(dfd, "lowonly", "only below\n");
		put(dfd, "deleted", "hidden above\n");
		put(dfd, "gone", "hidden above by a .wh. file\n");
		mkdirat(dfd, "opq", 0755);
		put(dfd, "opq/below", "hidden by opaque\n");
	}
	close(dfd);
}

static void rm_tree(int dfd)
{
	DIR *dp = fdopendir(dfd);
	struct dirent *de;

	if (!dp) {
		close(dfd);
		return;
	}
	while ((de = readdir(dp))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = openat(dirfd(dp), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			fchmod(sub, 0755);
			rm_tree(sub);
			unlinkat(dirfd(dp), de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(dp), de->d_name, 0);
		}
	}
	closedir(dp);
}

static void rm_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		chmod(path, 0755);
		rm_tree(fd);
	}
	rmdir(path);
}

/* Build the command line a user would type, for the mode sel picks:
 * 0 passthrough, 1 passthrough with writeback and cache=always,
 * 2 overlay with two lowers, 3 read-only overlay; with bit 2, the
 * passthrough runs without default_permissions and the overlay uses
 * .wh. files; bits 3, 4 and 5 add id maps, xattr_permissions=2 and
 * volatile to the overlay. */
static int build_argv(uint8_t sel, char **argv)
{
	static char a1[PATH_MAX], a2[PATH_MAX], a3[3 * PATH_MAX];
	int argc = 0;

	argv[argc++] = "veneerfs";
	argv[argc++] = "-f";
	snprintf(a2, sizeof(a2), "%s/mnt", sandbox);
	switch (sel & 3) {
	case 0: case 1:
		snprintf(a1, sizeof(a1), "%s/back/src", sandbox);
		fill(a1, SOURCE);
		snprintf(a3, sizeof(a3), "%s%s",
			 sel & 1 ? "writeback,cache=always" : "cache=auto",
			 sel & 4 ? ",nodefault_permissions" : "");
		argv[argc++] = a1;
		break;
	default:
		snprintf(a1, sizeof(a1), "%s/back/l1", sandbox);
		fill(a1, LOWER);
		snprintf(a1, sizeof(a1), "%s/back/l2", sandbox);
		fill(a1, LOWER);
		if ((sel & 3) == 2) {
			snprintf(a1, sizeof(a1), "%s/back/u", sandbox);
			fill(a1, UPPER);
			snprintf(a1, sizeof(a1), "%s/back/w", sandbox);
			mkdir(a1, 0755);
			snprintf(a3, sizeof(a3),
				 "lowerdir=%s/back/l1:%s/back/l2,"
				 "upperdir=%s/back/u,workdir=%s/back/w%s%s%s%s",
				 sandbox, sandbox, sandbox, sandbox,
				 sel & 4 ? ",whiteout=files" : "",
				 sel & 8 ? ",uidmapping=0:0:1000:1000:2000:100,"
					   "gidmapping=0:0:1000:1000:2000:100" : "",
				 sel & 16 ? ",xattr_permissions=2" : "",
				 sel & 32 ? ",volatile" : "");
		} else {
			snprintf(a3, sizeof(a3), "lowerdir=%s/back/l1:%s/back/l2",
				 sandbox, sandbox);
		}
		break;
	}
	argv[argc++] = "-o";
	argv[argc++] = a3;
	argv[argc++] = a2;
	argv[argc] = NULL;
	return argc;
}

/* The process's open fds, but for the mountinfo file each serving thread
 * keeps open for good (node.c) once it first needs it. */
static int count_fds(void)
{
	DIR *dp = opendir("/proc/self/fd");
	char path[320], target[64];
	struct dirent *de;
	ssize_t len;
	int n = 0;

	if (!dp)
		fail("cannot list /proc/self/fd");
	while ((de = readdir(dp))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (len > 0 && strstr(target, "/mountinfo"))
			continue;
		n++;
	}
	closedir(dp);
	return n;
}

/* Pick a nodeid: mostly one the daemon handed out. */
static uint64_t pick_node(uint8_t sel, const uint8_t *arg, size_t arglen)
{
	if (sel == 0 || nnodes == 0)
		return FUSE_ROOT_ID;
	if (sel == 1)
		return 0;
	if (sel == 2) {
		uint64_t v = 0x7fffffffffffffffULL;

		memcpy(&v, arg, arglen < 8 ? arglen : 8);
		return v;
	}
	return nodes[(sel - 3) % nnodes];
}

static const char *pick_name(uint8_t sel, const uint8_t *data, size_t len,
			     char *raw)
{
	if (sel < 0xf0)
		return names[sel % NNAMES];
	/* Raw bytes: any name at all, cut at the first NUL. */
	memcpy(raw, data, len);
	raw[len] = '\0';
	return raw;
}

/* Put a live handle into the request where the op takes one. Returns false
 * if the op needs one and none fits, then the request is not sent. */
static bool place_handle(const struct op_desc *d, uint8_t sel, char *req)
{
	struct fuse_in_header *ih = (void *)req;
	char *arg = (char *)(ih + 1);
	int i, match[MAX_HANDLES], n = 0;
	bool want_dir = d->fh == FH_DIR;
	uint64_t fh;

	if (d->fh == FH_NONE)
		return true;
	for (i = 0; i < nhandles; i++)
		if (handles[i].dir == want_dir)
			match[n++] = i;
	if (d->fh == FH_GETATTR || d->fh == FH_SETATTR) {
		struct fuse_getattr_in *g = (void *)arg;
		struct fuse_setattr_in *s = (void *)arg;

		/* The optional handle is only there with its flag. */
		if (d->fh == FH_GETATTR && !(g->getattr_flags & FUSE_GETATTR_FH))
			return true;
		if (d->fh == FH_SETATTR && !(s->valid & FATTR_FH))
			return true;
		if (!n) {
			if (d->fh == FH_GETATTR)
				g->getattr_flags &= ~FUSE_GETATTR_FH;
			else
				s->valid &= ~FATTR_FH;
			return true;
		}
	}
	if (!n)
		return false;
	i = match[sel % n];
	fh = handles[i].fh;
	memcpy(arg + d->fh_off, &fh, sizeof(fh));
	ih->nodeid = handles[i].nodeid;
	if (d->fh == FH_COPY) {
		struct fuse_copy_file_range_in *c = (void *)arg;

		i = match[(sel / 7) % n];
		c->fh_out = handles[i].fh;
		c->nodeid_out = handles[i].nodeid;
	}
	if (d->opcode == FUSE_RELEASE || d->opcode == FUSE_RELEASEDIR) {
		for (i = 0; i < nhandles; i++)
			if (handles[i].fh == fh && handles[i].dir == want_dir)
				break;
		handles[i] = handles[--nhandles];
	}
	return true;
}

/* Build and send one record's request; returns bytes consumed, 0 at the
 * end of the input. */
static size_t one_record(struct fuse_session *se, const uint8_t *p,
			 size_t left)
{
	static char req[sizeof(struct fuse_in_header) + 256 + 3 * 257 + 256 +
			PAD];
	struct fuse_in_header *ih = (void *)req;
	char *arg = (char *)(ih + 1), *q, raw[2][256];
	const struct op_desc *d;
	size_t arglen, datalen, used, len;
	const uint8_t *argp, *datap;
	int i;

	if (left < 8)
		return 0;
	d = &ops[p[0] % NOPS];
	arglen = p[6];
	if (left < 7 + arglen + 1)
		return 0;
	argp = p + 7;
	datalen = p[7 + arglen];
	if (left < 8 + arglen + datalen)
		return 0;
	datap = p + 8 + arglen;
	used = 8 + arglen + datalen;

	memset(req, 0, sizeof(req));
	ih->opcode = d->opcode;
	ih->nodeid = pick_node(p[1], argp, arglen);
	/* Callers: root, an ordinary user, nobody, in their own groups. */
	ih->uid = (const uint32_t[]){ 0, 1000, 65534, 1 }[p[3] & 3];
	ih->gid = (const uint32_t[]){ 0, 1000, 65534, 5 }[(p[3] >> 2) & 3];
	ih->pid = p[3] & 0x10 ? 1 : (uint32_t)getpid();
	memcpy(arg, argp, arglen < d->argsize ? arglen : d->argsize);
	q = arg + d->argsize;
	for (i = 0; i < d->names; i++) {
		const char *nm = pick_name(p[4 + i], datap,
					   datalen < 255 ? datalen : 255,
					   raw[i]);

		len = strlen(nm) + 1;
		memcpy(q, nm, len);
		q += len;
	}
	if (d->data) {
		memcpy(q, datap, datalen);
		q += datalen;
	}
	if (d->opcode == FUSE_BATCH_FORGET) {
		/* The count must match the entries that follow. */
		struct fuse_batch_forget_in *b = (void *)arg;
		struct fuse_forget_one *f = (void *)(b + 1);

		b->count = (uint32_t)(datalen / sizeof(*f));
		for (i = 0; i < (int)b->count; i++)
			f[i].nodeid = pick_node(datap[i * sizeof(*f)], argp,
						arglen);
		q = (char *)(f + b->count);
	}
	if (d->opcode == FUSE_SETLKW)
		ih->opcode = FUSE_SETLK;
	if (d->opcode == FUSE_WRITE)
		((struct fuse_write_in *)arg)->size = (uint32_t)datalen;
	if (d->opcode == FUSE_SETXATTR)
		((struct fuse_setxattr_in *)arg)->size = (uint32_t)datalen;
	if (d->opcode == FUSE_IOCTL)
		((struct fuse_ioctl_in *)arg)->in_size = (uint32_t)datalen;
	if (!place_handle(d, p[2], req))
		return used;
	send_req(se, req, (size_t)(q - req));
	return used;
}

/* Release what is still open, as the kernel does before unmounting, then
 * say DESTROY. */
static void unmount(struct fuse_session *se)
{
	char req[sizeof(struct fuse_in_header) +
		 sizeof(struct fuse_release_in) + PAD];
	struct fuse_in_header *ih = (void *)req;
	struct fuse_release_in *r = (void *)(ih + 1);
	int i;

	while (nhandles) {
		struct handle h = handles[--nhandles];

		memset(req, 0, sizeof(req));
		ih->opcode = h.dir ? FUSE_RELEASEDIR : FUSE_RELEASE;
		ih->nodeid = h.nodeid;
		r->fh = h.fh;
		send_req(se, req, sizeof(*ih) + sizeof(*r));
	}
	/* libfuse answers one queued INTERRUPT per request that comes in,
	 * and frees none at the end: one request for each still queued. */
	for (i = 0; i < cur.ninterrupts; i++) {
		if (!cur.interrupts[i])
			continue;
		memset(req, 0, sizeof(req));
		ih->opcode = FUSE_STATFS;
		ih->nodeid = FUSE_ROOT_ID;
		send_req(se, req, sizeof(*ih));
	}
	memset(req, 0, sizeof(req));
	ih->opcode = FUSE_DESTROY;
	send_req(se, req, sizeof(*ih));
}

struct outside_state {
	struct stat canary;
	char listing[512];
};

/* The sandbox apart from back/: what no request may touch. */
static void outside_state(struct outside_state *s)
{
	char path[PATH_MAX];
	const char *dirs[] = { "", "/outside", "/mnt", "/back" };
	size_t i;

	snprintf(path, sizeof(path), "%s/outside/canary", sandbox);
	memset(s, 0, sizeof(*s));
	if (lstat(path, &s->canary) < 0)
		fail("the canary outside the tree is gone");
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *dp;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s%s", sandbox, dirs[i]);
		dp = opendir(path);
		if (!dp)
			fail("a sandbox directory is gone");
		while ((de = readdir(dp)))
			if (strlen(s->listing) + strlen(de->d_name) + 2 <
			    sizeof(s->listing)) {
				strcat(s->listing, de->d_name);
				strcat(s->listing, "/");
			}
		closedir(dp);
	}
}

static void check_outside(const struct outside_state *before)
{
	struct outside_state after;

	outside_state(&after);
	if (before->canary.st_ctim.tv_sec != after.canary.st_ctim.tv_sec ||
	    before->canary.st_ctim.tv_nsec != after.canary.st_ctim.tv_nsec ||
	    before->canary.st_mtim.tv_nsec != after.canary.st_mtim.tv_nsec ||
	    before->canary.st_size != after.canary.st_size)
		fail("the canary outside the tree was changed");
	if (strcmp(before->listing, after.listing) != 0) {
		fprintf(stderr, "before: %s\nafter:  %s\n", before->listing,
			after.listing);
		fail("something was made or removed outside the tree");
	}
}

/* Remove the sandbox when the fuzzer or the replay ends. */
static void fuzz_wire_cleanup(void)
{
	rm_path(sandbox);
}

static void quiet_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	snprintf(sandbox, sizeof(sandbox), "%s/vnfuzz.XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(sandbox))
		fail("cannot make the sandbox");
	chmod(sandbox, 0755);
	snprintf(path, sizeof(path), "%s/outside", sandbox);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/outside/canary", sandbox);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "canary\n", 7) != 7)
		fail("cannot make the canary");
	close(fd);
	snprintf(path, sizeof(path), "%s/mnt", sandbox);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/back", sandbox);
	mkdir(path, 0755);
	memset(name255, 'n', 255);
	memset(name256, 'n', 256);
	names[NNAMES - 2] = name255;
	names[NNAMES - 1] = name256;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	atexit(fuzz_wire_cleanup);
	/* libfuse's complaints about malformed requests are expected. */
	verbose = getenv("FUZZ_WIRE_VERBOSE") != NULL;
	self_test_escape = getenv("FUZZ_WIRE_SELF_TEST") &&
			   !strcmp(getenv("FUZZ_WIRE_SELF_TEST"), "escape");
	if (!verbose)
		fuse_set_log_func(quiet_log);
	umask(0); /* as the daemon does: the kernel applies the caller's */
	return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outside_state before;
	char *argv[8], back[PATH_MAX];
	struct fuse_args args;
	struct fuse_session *se;
	struct vn_opts o;
	struct vn_fs fs;
	size_t off, used;
	int fds, records;

	if (size < 1)
		return 0;
	snprintf(back, sizeof(back), "%s/back", sandbox);
	rm_path(back);
	mkdir(back, 0755);
	fds = count_fds();
	args = (struct fuse_args)FUSE_ARGS_INIT(build_argv(data[0], argv),
						argv);
	outside_state(&before);
	if (vn_opts_parse(&args, &o) < 0 || vn_opts_validate(&o) < 0)
		fail(o.bad[0] ? o.bad : "the harness's command line is refused");
	vn_creds_setup(o.overlay, &o);
	if (vn_fs_init(&fs, &o) != 0)
		fail("vn_fs_init failed");
	se = fuse_session_new(&args, &vn_ops, sizeof(vn_ops), &fs);
	if (!se)
		fail("fuse_session_new failed");
	fs.se = se;
	/* The session closes this fd when it is destroyed. */
	if (fuse_session_custom_io(se, &wire_io,
				   fcntl(devnull, F_DUPFD_CLOEXEC, 0)) != 0)
		fail("fuse_session_custom_io failed");
	if (vn_fs_start(&fs) != 0)
		fail("vn_fs_start failed");

	nnodes = nhandles = cur.ninterrupts = 0;
	send_init(se);
	for (off = 1, records = 0; records < MAX_RECORDS; records++) {
		used = one_record(se, data + off, size - off);
		if (!used)
			break;
		off += used;
	}
	unmount(se);
	if (self_test_escape) {
		/* fuzz.bats: show that check_outside() can fail. */
		char canary[PATH_MAX];

		snprintf(canary, sizeof(canary), "%s/outside/canary", sandbox);
		chmod(canary, 0600);
	}
	fuse_session_destroy(se);
	vn_fs_destroy(&fs);
	vn_opts_free(&o);
	fuse_opt_free_args(&args);

	if (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0)
		fail("the thread was left with the caller's fsuid or fsgid");
	if (count_fds() != fds) {
		fprintf(stderr, "%d fds before, %d after\n", fds, count_fds());
		fail("a file descriptor leaked");
	}
	check_outside(&before);
	return 0;
}
