/* Open files: OPEN CREATE READ WRITE FLUSH RELEASE FSYNC FALLOCATE LSEEK
 * COPY_FILE_RANGE FLOCK. A file handle (fi->fh) is a real fd opened as the
 * caller; data moves with splice where libfuse can. POSIX byte-range locks
 * are left to the kernel, which enforces them between all users of the
 * mount. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"

/* Set in fi->fh above the fd: opened on a lower layer's file; served by
 * the kernel from a backing file (passthrough.c). */
#define VN_FH_LOWER (1ULL << 32)
#define VN_FH_PASSTHROUGH (1ULL << 33)

/* Flags for the real open: only those an open of a file through the
 * mount can mean (no kernel sends O_PATH, O_TMPFILE or O_DIRECTORY in an
 * OPEN or CREATE; a request that did would open something else). The
 * kernel bypasses its own cache for O_DIRECT opens already; passing it
 * down would demand an alignment FUSE buffers lack. */
static int real_flags(struct vn_fs *fs, int flags)
{
	flags &= O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
		 O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME | O_NOCTTY |
		 O_LARGEFILE;
	/* With a writeback cache the kernel appends from its own idea of
	 * the size. */
	if (fs->opts->writeback)
		flags &= ~O_APPEND;
	return flags | O_CLOEXEC;
}

/* With a writeback cache the kernel reads to fill a page that a writer
 * touched partly, so a write-only handle must be able to read. The caller
 * was allowed to open for writing (checked as the caller); the read access
 * is the daemon's own and serves only those page fills. */
static int widen_for_writeback(struct vn_fs *fs, int fd, int flags)
{
	int rw;

	if (!fs->opts->writeback || (flags & O_ACCMODE) != O_WRONLY)
		return fd;
	flags &= ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC);
	rw = vn_reopen(fs, fd, real_flags(fs, flags) | O_RDWR);
	if (rw < 0)
		return fd;
	close(fd);
	return rw;
}

/* A direct write bypasses the kernel's pages of the file, and a buffered
 * reader may fill some at the same time with data the write replaces
 * (with asynchronous direct I/O the kernel drops nothing once the write
 * completes): whatever the kernel holds of such a file is not kept past
 * an open, however unchanged the file's version looks. */
static bool direct_written(struct vn_node *n)
{
	return __atomic_load_n(&n->direct_written, __ATOMIC_RELAXED);
}

/* cache=auto keeps the pages the kernel has of a file while the file is
 * unchanged since it was last opened (close-to-open), and between opens
 * the kernel drops them when it sees the mtime or size change. n is NULL
 * for a file just created, of which nothing is cached. */
static void set_cache_flags(struct vn_fs *fs, struct fuse_file_info *fi,
			    struct vn_node *n, int fd)
{
	/* No page kept here can predate a passthrough write: a passthrough
	 * open keeps no cache, so the kernel drops the file's pages. */
	switch (fs->opts->cache) {
	case VN_CACHE_NEVER:
		fi->direct_io = 1;
		break;
	case VN_CACHE_ALWAYS:
		fi->keep_cache = !n || !direct_written(n);
		break;
	default:
		fi->keep_cache = n && !direct_written(n) &&
				 vn_node_keep_cache(fs, n, fd);
		break;
	}
}

/* Filesystems whose close(2) reports no error that fsync and write did
 * not: a FLUSH on them (a close of a duplicate fd) would tell the
 * caller nothing. */
static bool close_reports_nothing(int fd)
{
	static const unsigned long quiet[] = {
		0xEF53,	    /* ext2, ext3, ext4 */
		0x58465342, /* xfs */
		0x9123683E, /* btrfs */
		0x01021994, /* tmpfs */
		0xF2F52010, /* f2fs */
	};
	struct statfs sfs;
	size_t i;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if ((unsigned long)sfs.f_type == quiet[i])
			return true;
	return false;
}

/* The kernel then sends no FLUSH at close, saving a round trip per
 * close(2): reading leaves no error for close to report, nor does
 * writing to a filesystem whose close reports nothing. (With a writeback
 * cache the kernel sends it anyway, to write its pages back first.) */
static void set_noflush(struct fuse_file_info *fi, int fd)
{
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY ||
		      close_reports_nothing(fd);
}

/* Count the handle on the node; if the reply cannot be delivered (the
 * opener was interrupted) nobody will release it, so undo at once, and
 * for a CREATE the lookup the kernel never learnt of too. A passthrough
 * open's reply carries its backing id. */
static void reply_opened(fuse_req_t req, struct vn_fs *fs, struct vn_node *n,
			 struct fuse_file_info *fi,
			 const struct fuse_entry_param *e, int backing_id)
{
	struct vn_garbage g = { .nfds = 0 };
	bool pt = fi->fh & VN_FH_PASSTHROUGH;
	int err;

	vn_table_open(&fs->table, n, +1, &g);
	if (pt)
		vn_transport_arm(backing_id, e != NULL);
	err = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	vn_transport_disarm();
	if (err == -ENOENT) {
		close((int)fi->fh);
		vn_pt_release(fs, n, pt);
		vn_table_open(&fs->table, n, -1, &g);
		if (e)
			vn_table_forget(&fs->table, e->ino, 1, &g);
	}
	vn_garbage_release(&g);
}

/* A write, fallocate or truncate by a caller outside the file's group
 * clears its set-group-ID bit on the real filesystem even without group
 * execute permission; the kernel asks for that (a SETATTR) only where
 * group execute is set. The rest of it (set-user-ID, set-group-ID with
 * group execute, security.capability) the kernel has asked for already.
 * Root is taken to have CAP_FSETID, which keeps the bit. (With
 * FUSE_HANDLE_KILLPRIV_V2 the kernel asks for all of it: vn_kill_privs
 * instead.) */
bool vn_drop_sgid(fuse_req_t req, int fd)
{
	struct stat st;
	char path[32];

	if (fuse_req_ctx(req)->uid == 0 || fstat(fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (st.st_mode & (S_ISGID | S_IXGRP)) != S_ISGID)
		return false;
	if (vn_creds_in_group(req, st.st_gid))
		return false;
	vn_proc_path(fd, path, sizeof(path));
	if (chmod(path, st.st_mode & 07777 & ~S_ISGID) < 0) {
		vn_debug("cannot clear set-group-ID: %s", strerror(errno));
		return false;
	}
	return true;
}

bool vn_kill_privs(fuse_req_t req, int fd)
{
	struct stat st;
	mode_t mode;
	char path[32];

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	mode = st.st_mode & 07777 & ~S_ISUID;
	if ((mode & S_IXGRP) || !vn_creds_in_group(req, st.st_gid))
		mode &= ~S_ISGID;
	if (mode == (st.st_mode & 07777))
		return false;
	vn_proc_path(fd, path, sizeof(path));
	if (chmod(path, mode) < 0) {
		vn_debug("cannot clear set-user-ID or set-group-ID: %s",
			 strerror(errno));
		return false;
	}
	return true;
}

/* Clear the set-ID bits a request that may write the file open as fd
 * (O_PATH will do) clears: those the kernel asks for (vn_kill_privs), or
 * vn_drop_sgid's. Returns whether the mode changed. */
static bool drop_privs(fuse_req_t req, int fd)
{
	if (vn_fs(req)->kill_privs)
		return vn_transport_kill_privs() && vn_kill_privs(req, fd);
	return vn_drop_sgid(req, fd);
}

/* drop_privs for a request on an open file: the kernel's cached mode goes
 * too (attributes only, which takes no lock the request holds). */
static void drop_privs_open(fuse_req_t req, fuse_ino_t ino, int fd)
{
	if (drop_privs(req, fd))
		fuse_lowlevel_notify_inval_inode(vn_fs(req)->se, ino, -1, 0);
}

/* The mode bits of the file open as fd (O_PATH will do), -1 if unknown. */
static int file_mode(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

/* After an O_TRUNC open (fd) of a file whose mode was before: the open,
 * made as the caller, has cleared on the real file what the caller's
 * truncation clears there; drop_privs does the rest. The kernel keeps
 * the mode it had before the open, so a change makes it ask again. */
static void drop_privs_truncated(fuse_req_t req, fuse_ino_t ino, int fd,
				 int before)
{
	if (drop_privs(req, fd) || file_mode(fd) != before)
		fuse_lowlevel_notify_inval_inode(vn_fs(req)->se, ino, -1, 0);
}

/* How the kernel serves the open fi of n (nfd, opened as the caller; fd,
 * n's O_PATH fd): from a backing file, or through the daemon with the
 * cache mode's flags. Returns the backing id (0 for none) or -errno. */
static int serve_open(struct vn_fs *fs, struct vn_node *n, int fd,
		      struct fuse_file_info *fi, bool created)
{
	int id = 0, mode = vn_pt_open(fs, n, fd, fi->flags, &id);

	if (mode < 0)
		return mode;
	if (mode == VN_OPEN_PASSTHROUGH) {
		/* The kernel refuses a passthrough open with either, and
		 * direct_io would send reads and writes to the daemon
		 * again. Each read reaches the real file, so cache=never's
		 * promise holds without it. */
		fi->keep_cache = 0;
		fi->nonseekable = 0;
		fi->direct_io = 0;
		fi->fh |= VN_FH_PASSTHROUGH;
		vn_debug("OPEN of nodeid %llu: passthrough, backing id %d",
			 (unsigned long long)n->nodeid, id);
	} else {
		set_cache_flags(fs, fi, created ? NULL : n, (int)fi->fh);
	}
	return id;
}

/* Open for execve: the caller needs execute permission, which the kernel
 * has checked (default_permissions) and is checked here again as the
 * caller, by the source filesystem's rules (a noexec mount, ACLs); it
 * needs no read permission (a mode 0711 program runs). The data is then
 * read with the daemon's own access, for the kernel's loader alone. */
static int open_for_exec(struct vn_fs *fs, fuse_req_t req, int fd)
{
	struct vn_creds c;
	char path[32];
	int err;

	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (err)
		return err;
	vn_proc_path(fd, path, sizeof(path));
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		err = -errno;
	vn_creds_leave(&c);
	if (err)
		return err;
	return vn_reopen_data(fs, fd, O_RDONLY | O_CLOEXEC);
}

static int open_as_caller(struct vn_fs *fs, fuse_req_t req, int fd, int flags)
{
	struct vn_creds c;
	int nfd, err;

	if ((flags & VN_FMODE_EXEC) && (flags & O_ACCMODE) == O_RDONLY)
		return open_for_exec(fs, req, fd);
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (err)
		return err;
	nfd = vn_reopen_data(fs, fd, real_flags(fs, flags));
	vn_creds_leave(&c);
	return nfd < 0 ? nfd : widen_for_writeback(fs, nfd, flags);
}

void vn_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n;
	int fd, nfd, err, before;

	n = vn_node_get(fs, ino);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	/* The kernel opens devices and fifos itself, and directories with
	 * OPENDIR: only regular files reach OPEN. Anything else did not come
	 * from the kernel, and opening it could block or reach a device. */
	if (n->type != S_IFREG) {
		fuse_reply_err(req, n->type == S_IFDIR ? EISDIR : EINVAL);
		vn_node_put(fs, n);
		return;
	}
	/* Opening a lower file for writing copies it up first (without its
	 * data if it is truncated anyway). */
	err = 0;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		err = vn_copy_up(fs, n, !(fi->flags & O_TRUNC));
	fd = err ? err : vn_node_fd(fs, n);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		vn_node_put(fs, n);
		return;
	}
	before = fi->flags & O_TRUNC ? file_mode(fd) : -1;
	nfd = open_as_caller(fs, req, fd, fi->flags);
	if (nfd < 0) {
		fuse_reply_err(req, -nfd);
		vn_node_put(fs, n);
		return;
	}
	if (fi->flags & O_TRUNC)
		drop_privs_truncated(req, ino, nfd, before);
	fi->fh = (uint64_t)nfd;
	if (fs->overlay && fs->writable && !vn_node_is_upper(fs, n))
		fi->fh |= VN_FH_LOWER;
	err = serve_open(fs, n, fd, fi, false);
	if (err < 0) {
		close(nfd);
		fuse_reply_err(req, -err);
	} else {
		set_noflush(fi, nfd);
		reply_opened(req, fs, n, fi, NULL, err);
	}
	vn_node_put(fs, n);
}

struct create_arg {
	struct vn_fs *fs;
	mode_t mode;
	int flags;
};

static int create_cb(int dirfd, const char *name, void *arg)
{
	struct create_arg *a = arg;
	/* O_NOFOLLOW: a symlink that appeared under the name is not
	 * followed out of the source. */
	int flags = a->flags | O_CREAT | O_NOFOLLOW, fd;
	struct stat st;

	/* The kernel sends CREATE for a name it found absent. */
	fd = vn_openat(a->fs, dirfd, name, flags | O_EXCL, a->mode & 07777);
	if (fd != -EEXIST || (a->flags & O_EXCL))
		return fd;
	/* Something has been made under the name since (in the source
	 * directly, or by a racing CREATE): open it as it is, if it is a
	 * regular file. A fifo would block the worker, a device would be
	 * opened; the caller gets EEXIST for those. */
	fd = vn_openat(a->fs, dirfd, name, (flags & ~O_CREAT) | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EEXIST;
	}
	if (!(a->flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int create_as_caller(struct vn_fs *fs, fuse_req_t req, int dirfd,
			    const char *name, mode_t mode, int flags)
{
	struct create_arg a = { .fs = fs, .flags = real_flags(fs, flags) };
	struct vn_umask u = { .set = false };
	struct vn_creds c;
	int fd, err;

	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (err)
		return err;
	vn_umask_enter(req, &mode, &u);
	a.mode = mode;
	fd = vn_upper_create(fs, dirfd, name, S_IFREG, create_cb, &a);
	vn_umask_leave(&u);
	vn_creds_leave(&c);
	return fd < 0 ? fd : widen_for_writeback(fs, fd, flags);
}

void vn_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *dir = NULL, *n;
	struct fuse_entry_param e;
	int dirfd, fd, pfd, id, err;

	err = vn_check_new_name(fs, name);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (!err && fs->overlay)
		err = vn_upper_dir_for(fs, dir, name, &dirfd);
	if (err)
		goto out;
	fd = create_as_caller(fs, req, dirfd, name, mode, fi->flags);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	/* An existing file truncated; the entry below has its new mode. */
	if (fi->flags & O_TRUNC)
		drop_privs(req, fd);
	/* The entry is the object just opened, whatever the name is now. */
	err = vn_reopen(fs, fd, O_PATH);
	if (err >= 0)
		err = vn_entry_from_fd(fs, dir, name, err, &e);
	n = err ? NULL : vn_node_get(fs, e.ino);
	if (!n) {
		err = err ?: -ESTALE;
		close(fd);
		goto out;
	}
	fi->fh = (uint64_t)fd;
	pfd = vn_node_fd(fs, n);
	id = pfd < 0 ? pfd : serve_open(fs, n, pfd, fi, true);
	if (id < 0) {
		/* The new node keeps its lookup: the entry is gone with
		 * the error, so the count is taken back. */
		struct vn_garbage g = { .nfds = 0 };

		close(fd);
		vn_table_forget(&fs->table, e.ino, 1, &g);
		vn_garbage_release(&g);
		vn_node_put(fs, n);
		err = id;
		goto out;
	}
	set_noflush(fi, fd);
	reply_opened(req, fs, n, fi, &e, id);
	vn_node_put(fs, n);
out:
	vn_node_put(fs, dir);
	if (err)
		fuse_reply_err(req, -err);
}

/* A handle opened for reading on a lower file whose node has since been
 * copied up reads the upper copy from then on, as in the kernel's
 * overlayfs: its fd is replaced in place (dup3 is atomic, and the handle
 * keeps its number). */
static void follow_copy_up(fuse_req_t req, fuse_ino_t ino, int fd)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n = vn_node_get(fs, ino);
	struct stat now, want;
	int pfd, nfd;

	if (!n)
		return;
	if (vn_node_is_upper(fs, n) && (pfd = vn_node_fd(fs, n)) >= 0 &&
	    fstat(fd, &now) == 0 && fstat(pfd, &want) == 0 &&
	    (now.st_dev != want.st_dev || now.st_ino != want.st_ino)) {
		nfd = vn_reopen(fs, pfd, O_RDONLY);
		if (nfd >= 0) {
			dup3(nfd, fd, O_CLOEXEC);
			close(nfd);
		}
	}
	vn_node_put(fs, n);
}


void vn_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(vn_read_size(req, size));

	__atomic_add_fetch(&vn_fs(req)->counts.read, 1, __ATOMIC_RELAXED);
	if (fi->fh & VN_FH_LOWER)
		follow_copy_up(req, ino, (int)fi->fh);

	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

/* See direct_written(). */
static void note_direct_write(fuse_req_t req, fuse_ino_t ino)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n = vn_node_get(fs, ino);

	if (n)
		__atomic_store_n(&n->direct_written, 1, __ATOMIC_RELAXED);
	vn_node_put(fs, n);
}

void vn_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		     off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	int fd = (int)fi->fh, wfd = fd;
	ssize_t res;

	__atomic_add_fetch(&vn_fs(req)->counts.write, 1, __ATOMIC_RELAXED);
	if (!fi->writepage)
		drop_privs_open(req, ino, fd);
	if (fi->flags & O_DIRECT)
		note_direct_write(req, ino);
	/* Pages written back from a shared mapping go where they belong:
	 * through an O_APPEND handle they would land at the end of the
	 * file. The kernel has already placed ordinary appends. */
	if (fi->writepage && (fcntl(fd, F_GETFL) & O_APPEND)) {
		wfd = vn_reopen(vn_fs(req), fd, O_WRONLY);
		if (wfd < 0) {
			fuse_reply_err(req, -wfd);
			return;
		}
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = wfd;
	out.buf[0].pos = off;
	res = fuse_buf_copy(&out, in, 0);
	if (wfd != fd)
		close(wfd);
	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_write(req, (size_t)res);
}

void vn_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* Closing a duplicate reports delayed write errors (as NFS would)
	 * without giving up the handle. With no fd to spare for the
	 * duplicate there is nothing to report: the caller's close(2) must
	 * not fail for the daemon's lack of fds. */
	int fd = dup((int)fi->fh), err = 0;

	if (fd >= 0 && close(fd) < 0)
		err = errno;
	fuse_reply_err(req, err);
}

void vn_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *n = vn_node_get(fs, ino);

	close((int)fi->fh);
	if (n) {
		vn_pt_release(fs, n, fi->fh & VN_FH_PASSTHROUGH);
		vn_table_open(&fs->table, n, -1, &g);
		vn_node_put(fs, n);
	}
	vn_garbage_release(&g);
	fuse_reply_err(req, 0);
}

void vn_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	int err;

	if (vn_fs(req)->nosync) {
		fuse_reply_err(req, 0); /* volatile: the caller asked for it */
		return;
	}
	err = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, err < 0 ? errno : 0);
}

void vn_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi)
{
	int err;

	drop_privs_open(req, ino, (int)fi->fh);
	err = fallocate((int)fi->fh, mode, offset, length);
	fuse_reply_err(req, err < 0 ? errno : 0);
}

void vn_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		 struct fuse_file_info *fi)
{
	off_t res;

	/* With a writeback cache, data the kernel has not written back yet
	 * is not in the real file, whose holes it would report: the kernel
	 * answers itself instead (from then on), with the whole file as
	 * data, which is always true. */
	if (vn_fs(req)->opts->writeback) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (fi->fh & VN_FH_LOWER)
		follow_copy_up(req, ino, (int)fi->fh);
	res = lseek((int)fi->fh, off, whence);

	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

void vn_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			   off_t off_out, struct fuse_file_info *fi_out,
			   size_t len, int flags)
{
	ssize_t res;

	if (fi_in->fh & VN_FH_LOWER)
		follow_copy_up(req, ino_in, (int)fi_in->fh);
	res = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh,
			      &off_out, len, (unsigned int)flags);

	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)res);
}

void vn_op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		 int op)
{
	int err = flock((int)fi->fh, op);

	fuse_reply_err(req, err < 0 ? errno : 0);
}
