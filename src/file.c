/* Open files: OPEN CREATE READ WRITE FLUSH RELEASE FSYNC FALLOCATE LSEEK
 * COPY_FILE_RANGE FLOCK. A file handle (fi->fh) is a real fd opened as the
 * caller; data moves with splice where libfuse can. POSIX byte-range locks
 * are left to the kernel, which enforces them between all users of the
 * mount. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "creds.h"
#include "veneer.h"

/* Set in fi->fh above the fd: opened on a lower layer's file. */
#define VN_FH_LOWER (1ULL << 32)

/* Flags for the real open. */
static int real_flags(struct vn_fs *fs, int flags)
{
	/* The kernel bypasses its own cache for O_DIRECT opens already;
	 * passing it down would demand an alignment FUSE buffers lack. */
	flags &= ~O_DIRECT;
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

/* cache=auto keeps the pages the kernel has of a file while the file is
 * unchanged since it was last opened (close-to-open), and between opens
 * the kernel drops them when it sees the mtime or size change. n is NULL
 * for a file just created, of which nothing is cached. */
static void set_cache_flags(struct vn_fs *fs, struct fuse_file_info *fi,
			    struct vn_node *n, int fd)
{
	switch (fs->opts->cache) {
	case VN_CACHE_NEVER:
		fi->direct_io = 1;
		break;
	case VN_CACHE_ALWAYS:
		fi->keep_cache = 1;
		break;
	default:
		fi->keep_cache = n && vn_node_keep_cache(fs, n, fd);
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
 * opener was interrupted) nobody will release it, so undo at once. */
static void reply_opened(fuse_req_t req, struct vn_fs *fs, struct vn_node *n,
			 struct fuse_file_info *fi,
			 const struct fuse_entry_param *e)
{
	struct vn_garbage g = { .nfds = 0 };
	int err;

	vn_table_open(&fs->table, n, +1, &g);
	err = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	if (err == -ENOENT) {
		close((int)fi->fh);
		vn_table_open(&fs->table, n, -1, &g);
	}
	vn_garbage_release(&g);
}

static int open_as_caller(struct vn_fs *fs, fuse_req_t req, int fd, int flags)
{
	struct vn_creds c;
	int nfd, err;

	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (err)
		return err;
	nfd = vn_reopen(fs, fd, real_flags(fs, flags));
	vn_creds_leave(&c);
	return nfd < 0 ? nfd : widen_for_writeback(fs, nfd, flags);
}

void vn_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n;
	int fd, nfd, err;

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
	nfd = open_as_caller(fs, req, fd, fi->flags);
	if (nfd < 0) {
		fuse_reply_err(req, -nfd);
	} else {
		fi->fh = (uint64_t)nfd;
		if (fs->overlay && fs->writable && !vn_node_is_upper(fs, n))
			fi->fh |= VN_FH_LOWER;
		set_cache_flags(fs, fi, n, nfd);
		set_noflush(fi, nfd);
		reply_opened(req, fs, n, fi, NULL);
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
	int dirfd, fd, err;

	err = vn_check_new_name(fs, name);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (!err && fs->overlay)
		err = vn_upper_dir(fs, dir, &dirfd);
	if (err)
		goto out;
	fd = create_as_caller(fs, req, dirfd, name, mode, fi->flags);
	if (fd < 0) {
		err = fd;
		goto out;
	}
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
	set_cache_flags(fs, fi, NULL, fd);
	set_noflush(fi, fd);
	reply_opened(req, fs, n, fi, &e);
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

	if (fi->fh & VN_FH_LOWER)
		follow_copy_up(req, ino, (int)fi->fh);

	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void vn_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		     off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	int fd = (int)fi->fh, wfd = fd;
	ssize_t res;

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
	int err = fallocate((int)fi->fh, mode, offset, length);

	fuse_reply_err(req, err < 0 ? errno : 0);
}

void vn_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		 struct fuse_file_info *fi)
{
	off_t res = lseek((int)fi->fh, off, whence);

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
	ssize_t res = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh,
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
