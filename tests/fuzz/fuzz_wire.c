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
 * serve the request that would release the lock. Everything else is free,
 * but for the sizes of FALLOCATE, kept small so that the tmpfs the tree
 * lives on allocates little.
 *
 * Built with libFuzzer by `make fuzz`; built as a plain program over
 * fuzz_replay.c, it replays the corpus in `make check`.
 *
 * Input format: byte 0 picks the mount (see setup_mount), then records:
 *   op node fh cred name1 name2 arglen arg[arglen] datalen data[datalen]
 * each one byte except arg and data. Bit 0x20 of cred makes the reply to
 * that request refused, as the kernel refuses one to a request it gave up
 * on: the daemon must then take back what the reply would have given (a
 * lookup count, an open handle). */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64
#define MAX_NODES 4096
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
	bool refuse;		/* the kernel has given up on the request:
				 * its reply is refused (ENOENT), as
				 * /dev/fuse does for an aborted one */
	/* INTERRUPTs sent, which libfuse may answer later. */
	uint64_t interrupts[MAX_RECORDS];
	int ninterrupts;
} cur;

/* Every nodeid handed out in this input, with the lookups it was given
 * (less those the input's FORGETs took back): what the kernel would
 * forget at unmount. */
static uint64_t nodes[MAX_NODES];
static uint64_t lookups[MAX_NODES];
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

static int node_index(uint64_t nodeid)
{
	int i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i] == nodeid)
			return i;
	return -1;
}

static void note_node(uint64_t nodeid)
{
	int i = node_index(nodeid);

	if (!nodeid)
		return;
	if (i < 0) {
		if (nnodes == MAX_NODES)
			fail("more nodes than the harness can track");
		i = nnodes++;
		nodes[i] = nodeid;
		lookups[i] = 0;
	}
	lookups[i]++;
}

/* A FORGET the input sends: the daemon takes back at most what it gave. */
static void note_forget(uint64_t nodeid, uint64_t n)
{
	int i = node_index(nodeid);

	if (i >= 0)
		lookups[i] -= n < lookups[i] ? n : lookups[i];
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
	if (cur.refuse) {
		/* Nothing of it reaches the kernel: no node or handle. */
		errno = ENOENT;
		return -1;
	}
	if (oh.error > 0 || oh.error < -4095)
		fail("reply with an impossible errno");
	if (verbose)
		fprintf(stderr, "reply %llu: %s\n",
			(unsigned long long)oh.unique, strerror(-oh.error));
	if (verbose && !oh.error && len >= sizeof(oh) + 8 &&
	    (cur.opcode == FUSE_LOOKUP || cur.opcode == FUSE_MKNOD ||
	     cur.opcode == FUSE_MKDIR || cur.opcode == FUSE_SYMLINK ||
	     cur.opcode == FUSE_LINK || cur.opcode == FUSE_CREATE))
		fprintf(stderr, "  nodeid %llu\n", (unsigned long long)
			((const struct fuse_entry_out *)(buf + sizeof(oh)))
				->nodeid);
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

/* Hand one request to the session, as the receive loop would; with
 * refuse, its reply is refused. */
static void send_req_as(struct fuse_session *se, char *req, size_t len,
			bool refuse)
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
	cur.refuse = refuse;
	if (ih->opcode == FUSE_INTERRUPT && cur.ninterrupts < MAX_RECORDS)
		cur.interrupts[cur.ninterrupts++] = ih->unique;
	if (verbose) {
		fprintf(stderr, "request %llu: op %u node %llu, %zu bytes%s",
			(unsigned long long)ih->unique, ih->opcode,
			(unsigned long long)ih->nodeid, len,
			refuse ? " (reply refused):" : ":");
		/* The body, where names are, as text. */
		for (size_t i = sizeof(*ih); i < len && i < sizeof(*ih) + 64;
		     i++)
			fputc(req[i] >= 0x20 && req[i] < 0x7f ? req[i] : '.',
			      stderr);
		fputc('\n', stderr);
	}
	fuse_session_process_buf(se, &fb);
	if (!noreply && cur.replies != 1)
		fail("a request got no reply");
}

static void send_req(struct fuse_session *se, char *req, size_t len)
{
	send_req_as(se, req, len, false);
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

/* The mounts an input can pick with its first byte: 0 passthrough, 1
 * passthrough with writeback and cache=always, 2 overlay with two lowers,
 * 3 read-only overlay; with bit 2, the passthrough runs without
 * default_permissions and the overlay uses .wh. files; bits 3, 4 and 5 add
 * id maps, xattr_permissions=2 and volatile to the overlay. Each is set up
 * once, as world number world_index(sel). */
#define NWORLDS 21

static int world_index(uint8_t sel)
{
	switch (sel & 3) {
	case 0: case 1:
		return (sel & 3) * 2 + ((sel >> 2) & 1);
	case 2:
		return 4 + ((sel >> 2) & 15);
	default:
		return 20;
	}
}

/* Build the command line a user would type for mount sel, whose layers
 * are made below the directory top. */
static int build_argv(uint8_t sel, const char *top, char **argv)
{
	static char a1[PATH_MAX], a2[PATH_MAX], a3[3 * PATH_MAX];
	int argc = 0;

	argv[argc++] = "veneerfs";
	argv[argc++] = "-f";
	snprintf(a2, sizeof(a2), "%s/mnt", sandbox);
	switch (sel & 3) {
	case 0: case 1:
		snprintf(a1, sizeof(a1), "%s/src", top);
		fill(a1, SOURCE);
		snprintf(a3, sizeof(a3), "%s%s",
			 sel & 1 ? "writeback,nopassthrough,cache=always"
				 : "cache=auto",
			 sel & 4 ? ",nodefault_permissions" : "");
		argv[argc++] = a1;
		break;
	default:
		snprintf(a1, sizeof(a1), "%s/l1", top);
		fill(a1, LOWER);
		snprintf(a1, sizeof(a1), "%s/l2", top);
		fill(a1, LOWER);
		if ((sel & 3) == 2) {
			snprintf(a1, sizeof(a1), "%s/u", top);
			fill(a1, UPPER);
			snprintf(a1, sizeof(a1), "%s/w", top);
			mkdir(a1, 0755);
			snprintf(a3, sizeof(a3),
				 "lowerdir=%s/l1:%s/l2,upperdir=%s/u,"
				 "workdir=%s/w%s%s%s%s",
				 top, top, top, top,
				 sel & 4 ? ",whiteout=files" : "",
				 sel & 8 ? ",uidmapping=0:0:1000:1000:2000:100,"
					   "gidmapping=0:0:1000:1000:2000:100" : "",
				 sel & 16 ? ",xattr_permissions=2" : "",
				 sel & 32 ? ",volatile" : "");
		} else {
			snprintf(a3, sizeof(a3), "lowerdir=%s/l1:%s/l2", top,
				 top);
		}
		break;
	}
	argv[argc++] = "-o";
	argv[argc++] = a3;
	argv[argc++] = a2;
	argv[argc] = NULL;
	return argc;
}

/* Kernel passthrough, simulated: the daemon's backing-file ioctls (on the
 * session's descriptor, /dev/null here) get ids from this table, which
 * checks that each id is closed once, after it was made, and that none
 * outlives the opens that used it. Every other ioctl goes to the kernel. */
#define BACKING_OPEN _IOW(229, 1, char[16])
#define BACKING_CLOSE _IOW(229, 2, uint32_t)
#define MAX_BACKING 1024
static bool backing_ids[MAX_BACKING];
static int nbacking;

int ioctl(int fd, unsigned long req, ...)
{
	struct stat st;
	uint32_t id;
	void *arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == BACKING_OPEN) {
		int32_t bfd;

		memcpy(&bfd, arg, sizeof(bfd));
		if (fstat(bfd, &st) < 0 || !S_ISREG(st.st_mode))
			fail("a backing file that is not an open regular file");
		for (id = 1; id < MAX_BACKING && backing_ids[id]; id++)
			;
		if (id == MAX_BACKING)
			fail("more backing ids than files open");
		backing_ids[id] = true;
		nbacking++;
		return (int)id;
	}
	if (req == BACKING_CLOSE) {
		memcpy(&id, arg, sizeof(id));
		if (id >= MAX_BACKING || !backing_ids[id])
			fail("a backing id closed that is not open");
		backing_ids[id] = false;
		nbacking--;
		return 0;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* The open fds, as a set. */
#define MAX_FDS 4096
struct fd_set_ {
	unsigned char open[MAX_FDS / 8];
	int n;
};

/* fcntl(F_GETFD) on each number is much cheaper than listing
 * /proc/self/fd; an fd an input leaks takes the lowest number free, so
 * looking a little past the highest one open finds it. */
static void list_fds(struct fd_set_ *f)
{
	static int high = 64;
	int fd, top = high + 64;

	memset(f, 0, sizeof(*f));
	for (fd = 0; fd < top && fd < MAX_FDS; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		f->open[fd / 8] |= (unsigned char)(1 << (fd % 8));
		f->n++;
		if (fd > high)
			high = fd;
	}
	if (top >= MAX_FDS)
		fail("more fds than the harness tracks");
}

/* Fail if after holds an fd that before did not, other than a pipe:
 * libfuse makes one pipe per thread and session the first time it
 * splices, and keeps it. */
static void check_fds(const struct fd_set_ *before,
		      const struct fd_set_ *after)
{
	char path[32], target[64];
	ssize_t len;
	int fd;

	for (fd = 0; fd < MAX_FDS; fd++) {
		if (!(after->open[fd / 8] & (1 << (fd % 8))) ||
		    (before->open[fd / 8] & (1 << (fd % 8))))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (strncmp(target, "pipe:", 5) == 0)
			continue;
		fprintf(stderr, "fd %d (%s) was opened and left open\n", fd,
			target);
		fail("a file descriptor leaked");
	}
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
		for (i = 0; i < (int)b->count; i++) {
			f[i].nodeid = pick_node(datap[i * sizeof(*f)], argp,
						arglen);
			note_forget(f[i].nodeid, f[i].nlookup);
		}
		q = (char *)(f + b->count);
	}
	if (d->opcode == FUSE_FORGET)
		note_forget(ih->nodeid,
			    ((struct fuse_forget_in *)arg)->nlookup);
	if (d->opcode == FUSE_SETLKW)
		ih->opcode = FUSE_SETLK;
	if (d->opcode == FUSE_WRITE)
		((struct fuse_write_in *)arg)->size = (uint32_t)datalen;
	if (d->opcode == FUSE_SETXATTR)
		((struct fuse_setxattr_in *)arg)->size = (uint32_t)datalen;
	if (d->opcode == FUSE_IOCTL)
		((struct fuse_ioctl_in *)arg)->in_size = (uint32_t)datalen;
	if (d->opcode == FUSE_FALLOCATE) {
		/* The sandbox is a tmpfs, which allocates pages for real:
		 * a GiB would cost more than a thousand inputs. */
		struct fuse_fallocate_in *fa = (void *)arg;

		fa->offset %= 64 << 20;
		fa->length %= 1 << 20;
	}
	if (!place_handle(d, p[2], req))
		return used;
	send_req_as(se, req, (size_t)(q - req), p[3] & 0x20);
	return used;
}

/* Release what is still open and forget every node handed out, as the
 * kernel does before unmounting. */
static void unmount(struct fuse_session *se)
{
	char req[sizeof(struct fuse_in_header) +
		 sizeof(struct fuse_batch_forget_in) +
		 MAX_NODES * sizeof(struct fuse_forget_one) + PAD];
	struct fuse_in_header *ih = (void *)req;
	struct fuse_release_in *r = (void *)(ih + 1);
	struct fuse_batch_forget_in *b = (void *)(ih + 1);
	struct fuse_forget_one *f = (void *)(b + 1);
	int i;

	while (nhandles) {
		struct handle h = handles[--nhandles];

		memset(req, 0, sizeof(struct fuse_in_header) + sizeof(*r) + PAD);
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
		memset(req, 0, sizeof(struct fuse_in_header) + PAD);
		ih->opcode = FUSE_STATFS;
		ih->nodeid = FUSE_ROOT_ID;
		send_req(se, req, sizeof(*ih));
	}
	memset(req, 0, sizeof(req));
	ih->opcode = FUSE_BATCH_FORGET;
	for (i = 0; i < nnodes; i++) {
		if (!lookups[i])
			continue;
		f[b->count].nodeid = nodes[i];
		f[b->count].nlookup = lookups[i];
		b->count++;
	}
	send_req(se, req, (size_t)((char *)(f + b->count) - req));
}

/* The directories below a world's top that the daemon holds open for the
 * mount's life, and whose contents an input may change: emptied and
 * filled again in place when it did, never made anew. */
static const struct {
	const char *name;
	enum layer_kind kind;
	bool fill;		/* filled by fill(), else left empty */
} roots[] = {
	{ "/src", SOURCE, true },
	{ "/l1", LOWER, true },
	{ "/l2", LOWER, true },
	{ "/u", UPPER, true },
	{ "/w/work", UPPER, false },
};
#define NROOTS (sizeof(roots) / sizeof(roots[0]))
#define MAX_WATCHES 256

/* What an input changed is learnt from inotify: every directory of a
 * world's tree is watched, and a change to it or to anything in it (an
 * entry made, removed or renamed; data, attributes or xattrs changed)
 * queues an event, so an input that changed nothing costs one read. */
static int inotify_fd = -1;

struct world {
	bool ready;
	uint8_t sel;
	char top[PATH_MAX];	/* back/wN: the layers, or SOURCE */
	struct fuse_args args;
	struct vn_opts o;
	struct vn_fs fs;
	struct fuse_session *se;
	struct stat root_st[NROOTS]; /* each root as made, st_ino 0: none */
	struct { int wd; int root; } watch[MAX_WATCHES];
	int nwatch;
};

static struct world worlds[NWORLDS];

#define WATCHED (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | \
		 IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

/* Watch path and every directory below it, as part of root r. */
static void watch_tree(struct world *w, const char *path, int r)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int wd = inotify_add_watch(inotify_fd, path, WATCHED | IN_ONLYDIR |
							  IN_DONT_FOLLOW);

	if (wd < 0)
		return; /* not a directory */
	if (w->nwatch == MAX_WATCHES)
		fail("more directories than the harness can watch");
	w->watch[w->nwatch].wd = wd;
	w->watch[w->nwatch++].root = r;
	if (!(dp = opendir(path)))
		return;
	while ((de = readdir(dp))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		watch_tree(w, sub, r);
	}
	closedir(dp);
}

/* The sandbox around the worlds' trees, which no request may touch: its
 * top, outside/ (the canary), mnt/ and back/. */
static int outside_wd[4];

static void watch_outside(void)
{
	static const char *const dirs[] = { "", "/outside", "/mnt", "/back" };
	char path[PATH_MAX];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", sandbox, dirs[i]);
		outside_wd[i] = inotify_add_watch(inotify_fd, path, WATCHED);
		if (outside_wd[i] < 0)
			fail("cannot watch the sandbox");
	}
}

/* Read what changed since the last call: the roots of w the input
 * changed something in (a bit each), and whether anything outside the
 * trees changed (*outside; may be NULL when the harness made the change
 * itself). */
static unsigned int tree_changed(struct world *w, bool *outside)
{
	char buf[16384] __attribute__((aligned(8)));
	unsigned int changed = 0;
	ssize_t len;
	char *p;
	int i;

	while ((len = read(inotify_fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + len;
		     p += sizeof(struct inotify_event) +
			  ((struct inotify_event *)p)->len) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				fail("the harness lost track of changes "
				     "(inotify queue overflow)");
			for (i = 0; i < 4; i++)
				if (outside && ev->wd == outside_wd[i]) {
					fprintf(stderr, "changed outside: %s\n",
						ev->len ? ev->name : ".");
					*outside = true;
				}
			for (i = 0; i < w->nwatch; i++)
				if (w->watch[i].wd == ev->wd)
					changed |= 1u << w->watch[i].root;
		}
	}
	return changed;
}

/* Empty root r the daemon holds, give it its first mode, owner and no
 * xattrs, fill it again as it was made, and watch it again. */
static void reset_root(struct world *w, int r)
{
	const struct stat *st = &w->root_st[r];
	char path[PATH_MAX], list[4096], *n;
	ssize_t len;
	int fd, i, j;

	snprintf(path, sizeof(path), "%s%s", w->top, roots[r].name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fail("a layer root is gone");
	for (i = j = 0; i < w->nwatch; i++)
		if (w->watch[i].root != r)
			w->watch[j++] = w->watch[i];
		else
			inotify_rm_watch(inotify_fd, w->watch[i].wd);
	w->nwatch = j;
	rm_tree(dup(fd));
	if (fchown(fd, st->st_uid, st->st_gid) < 0 ||
	    fchmod(fd, st->st_mode & 07777) < 0)
		fail("cannot put a layer root back");
	len = flistxattr(fd, list, sizeof(list));
	for (n = list; len > 0 && n < list + len; n += strlen(n) + 1)
		fremovexattr(fd, n);
	close(fd);
	if (roots[r].fill)
		fill(path, roots[r].kind);
	watch_tree(w, path, r);
}

/* Put back what the input changed (changed: tree_changed's bits). The
 * harness's own changes queue events too: they are read and dropped. */
static void tree_reset(struct world *w, unsigned int changed)
{
	int r;

	if (!changed)
		return;
	for (r = 0; r < (int)NROOTS; r++)
		if ((changed & (1u << r)) && w->root_st[r].st_ino)
			reset_root(w, r);
	tree_changed(w, NULL);
}

/* Record the roots of the world just made and watch them. */
static void tree_watch(struct world *w)
{
	char path[PATH_MAX];
	int r;

	for (r = 0; r < (int)NROOTS; r++) {
		snprintf(path, sizeof(path), "%s%s", w->top, roots[r].name);
		if (lstat(path, &w->root_st[r]) < 0) {
			w->root_st[r].st_ino = 0;
			continue;
		}
		watch_tree(w, path, r);
	}
	tree_changed(w, NULL);
}

static void world_setup(struct world *w, uint8_t sel)
{
	char *argv[8];
	int argc;

	w->sel = sel;
	snprintf(w->top, sizeof(w->top), "%s/back/w%d", sandbox,
		 world_index(sel));
	mkdir(w->top, 0755);
	argc = build_argv(sel, w->top, argv);
	w->args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	for (int i = 0; i < argc; i++)
		if (fuse_opt_add_arg(&w->args, argv[i]) < 0)
			fail("out of memory");
	if (vn_opts_parse(&w->args, &w->o) < 0 || vn_opts_validate(&w->o) < 0)
		fail(w->o.bad[0] ? w->o.bad
				 : "the harness's command line is refused");
	vn_creds_setup(w->o.overlay, &w->o);
	if (vn_fs_init(&w->fs, &w->o) != 0)
		fail("vn_fs_init failed");
	w->se = fuse_session_new(&w->args, &vn_ops, sizeof(vn_ops), &w->fs);
	if (!w->se)
		fail("fuse_session_new failed");
	w->fs.se = w->se;
	/* The session closes this fd when it is destroyed. */
	if (fuse_session_custom_io(w->se, &wire_io,
				   fcntl(devnull, F_DUPFD_CLOEXEC, 0)) != 0)
		fail("fuse_session_custom_io failed");
	if (vn_fs_start(&w->fs) != 0)
		fail("vn_fs_start failed");
	send_init(w->se);
	/* As if the kernel had taken passthrough at INIT (the transport is
	 * not in the harness): opens get backing ids from ioctl() above. */
	if (!w->o.writeback)
		w->fs.passthrough = VN_PT_ON;
	/* The thread opens its mountinfo file for good the first time it
	 * reads data (node.c): now, not in an input whose fds are counted. */
	argc = vn_reopen_data(&w->fs, w->fs.layers[0].fd,
			      O_RDONLY | O_DIRECTORY);
	if (argc >= 0)
		close(argc);
	tree_watch(w);	/* also drops the events of setting it up */
	w->ready = true;
}

static void world_destroy(struct world *w)
{
	char req[sizeof(struct fuse_in_header) + PAD] = { 0 };
	struct fuse_in_header *ih = (void *)req;

	if (!w->ready)
		return;
	ih->opcode = FUSE_DESTROY;
	send_req(w->se, req, sizeof(*ih));
	fuse_session_destroy(w->se);
	vn_fs_destroy(&w->fs);
	vn_opts_free(&w->o);
	fuse_opt_free_args(&w->args);
	w->ready = false;
}

/* Remove the sandbox when the fuzzer or the replay ends. */
static void fuzz_wire_cleanup(void)
{
	int i;

	for (i = 0; i < NWORLDS; i++)
		world_destroy(&worlds[i]);
	rm_path(sandbox);
}

static void quiet_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("FUZZ_WIRE_TMPDIR");
	char path[PATH_MAX];
	struct statfs sfs;
	int fd;

	/* A tmpfs makes and removes files at memory speed (ext4 allocating
	 * inodes again after many deletes is slow): /dev/shm is one. */
	if (!tmp && statfs("/dev/shm", &sfs) == 0 &&
	    sfs.f_type == TMPFS_MAGIC)
		tmp = "/dev/shm";
	if (!tmp)
		tmp = getenv("TMPDIR");
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
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd < 0)
		fail("cannot make an inotify instance");
	watch_outside();
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
	static struct fd_set_ fds_before, fds_after;
	static bool fds_known;
	unsigned int changed;
	bool outside = false;
	struct world *w;
	size_t off, used, left;
	int records;
	bool fresh;

	if (size < 1)
		return 0;
	w = &worlds[world_index(data[0])];
	fresh = !w->ready;
	if (fresh)
		world_setup(w, data[0]);
	/* The credentials module keeps the mount's id maps and mode. */
	vn_creds_setup(w->o.overlay, &w->o);
	/* The fds open before this input: those after the last one, or
	 * listed anew after a mount was set up. */
	if (fresh || !fds_known)
		list_fds(&fds_after);
	fds_before = fds_after;
	fds_known = true;

	nnodes = nhandles = cur.ninterrupts = 0;
	for (off = 1, records = 0; records < MAX_RECORDS; records++) {
		used = one_record(w->se, data + off, size - off);
		if (!used)
			break;
		off += used;
	}
	unmount(w->se);
	if (self_test_escape) {
		/* fuzz.bats: show that the check below can fail. */
		char canary[PATH_MAX];

		snprintf(canary, sizeof(canary), "%s/outside/canary", sandbox);
		chmod(canary, 0600);
	}
	if (nbacking)
		fail("a backing id outlived the opens that used it");
	/* The kernel has forgotten every node: only the root is left. */
	left = vn_table_count(&w->fs.table);
	if (left != 1) {
		fprintf(stderr, "%zu nodes left\n", left);
		fail("nodes left in the table once every lookup was forgotten");
	}
	if (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0)
		fail("the thread was left with the caller's fsuid or fsgid");
	list_fds(&fds_after);
	if (fds_after.n != fds_before.n)
		check_fds(&fds_before, &fds_after);
	/* Nothing outside the tree changed: no entry made or removed, and
	 * the canary's data and attributes as they were. */
	changed = tree_changed(w, &outside);
	if (outside)
		fail("something outside the tree was changed");
	tree_reset(w, changed);
	return 0;
}
