/* Copy-up: before a lower object is changed, a copy of it is made in the
 * upper layer, and the node moves to it.
 *
 * The copy is built in the work directory under a temporary name, with its
 * data, owner, mode, xattrs and times, synced, then renamed into place: an
 * interrupted copy-up leaves at most a stray temporary (removed at the next
 * mount), never a partial file in the upper layer. Parents are copied up
 * first. One node is copied by one request at a time (the others wait for
 * it); nothing global is held while data moves, so a long copy stalls only
 * requests on that same file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <attr/error_context.h>
#include <attr/libattr.h>

#include "log.h"
#include "veneer.h"
#include "whiteout.h"
#include "xattr_name.h"

#define VN_COPY_CHUNK (1 << 20)

/* Names the copy must have or the copy-up fails, whatever the upper
 * filesystem says (vn_xname_must_copy). Others (the labels of a security
 * module, say) are left out where the upper layer refuses them, as the
 * kernel's overlayfs leaves out what is unsupported; that is said once in
 * the log. */

/* libattr's error callback, and what the copy learnt from it. */
struct xattr_copy {
	struct error_context ec;	/* first: the callback gets it */
	struct vn_fs *fs;
	bool must;			/* this pass copies the names that
					 * must be copied */
	int err;			/* first failure, as -errno */
};

static int filter_must(const char *name, struct error_context *ec)
{
	return vn_xname_must_copy(name);
}

static int filter_rest(const char *name, struct error_context *ec)
{
	struct xattr_copy *c = (struct xattr_copy *)ec;

	return !vn_xname_must_copy(name) && !vn_private_xattr(c->fs, name);
}

static void xattr_error(struct error_context *ec, const char *fmt, ...)
{
	struct xattr_copy *c = (struct xattr_copy *)ec;
	static bool warned;
	int e = errno ? errno : EIO;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Reading the lower object never fails for a good reason; the upper
	 * filesystem may refuse a label (ENOTSUP, or EPERM in a user
	 * namespace). */
	if (!c->must && (e == ENOTSUP || e == EPERM)) {
		if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
			vn_warn("copy-up: %s: %s (such xattrs are left out)",
				msg, strerror(e));
		return;
	}
	vn_debug("copy-up: %s: %s", msg, strerror(e));
	if (!c->err)
		c->err = -e;
}

/* Copy every xattr but overlay's own from src to dst (paths that reach
 * the objects themselves, symlinks included), with libattr. Any failure
 * to read them, or to write one that must be copied, fails the copy-up:
 * a copy without its ACLs or capabilities is not the file. */
static int copy_xattrs(struct vn_fs *fs, const char *src, const char *dst)
{
	struct xattr_copy c = { .ec = { .error = xattr_error }, .fs = fs };

	c.must = true;
	if (attr_copy_file(src, dst, filter_must, &c.ec) < 0 && !c.err)
		c.err = -EIO;
	if (c.err)
		return c.err;
	c.must = false;
	attr_copy_file(src, dst, filter_rest, &c.ec);
	return c.err;
}

/* pwrite all of buf at off: a short write is retried for the rest; one
 * that writes nothing is an error. Returns 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Copy [off, end) with copy_file_range, or read and write where the
 * kernel cannot. */
static int copy_range(int sfd, int dfd, off_t off, off_t end, char **buf)
{
	while (off < end) {
		size_t want = (size_t)(end - off) < VN_COPY_CHUNK
				      ? (size_t)(end - off)
				      : VN_COPY_CHUNK;
		off_t so = off, dso = off;
		ssize_t n = copy_file_range(sfd, &so, dfd, &dso, want, 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			      errno == ENOSYS || errno == EOPNOTSUPP)) {
			if (!*buf && !(*buf = malloc(VN_COPY_CHUNK)))
				return -ENOMEM;
			n = pread(sfd, *buf, want, off);
			if (n > 0) {
				int err = write_all(dfd, *buf, (size_t)n, off);

				if (err)
					return err;
			}
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank: the size is set after */
		off += n;
	}
	return 0;
}

/* The data, holes kept: a reflink where the filesystem shares extents,
 * else each data segment in turn. */
static int copy_data(int sfd, int dfd, off_t size)
{
	char *buf = NULL;
	off_t off = 0, hole;
	int err = 0;

	if (ioctl(dfd, FICLONE, sfd) == 0)
		return 0;
	while (!err && off < size) {
		off = lseek(sfd, off, SEEK_DATA);
		if (off < 0) {
			if (errno != ENXIO)
				err = -errno;
			break; /* ENXIO: only a hole is left */
		}
		hole = lseek(sfd, off, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		err = copy_range(sfd, dfd, off, hole, &buf);
		off = hole;
	}
	free(buf);
	if (!err && ftruncate(dfd, size) < 0)
		err = -errno;
	return err;
}

/* Create the copy of the object open as src (stat st) as tmp in the work
 * directory. Returns an O_PATH fd of it, or -errno. */
static int make_copy(struct vn_fs *fs, int src, const struct stat *st,
		     const char *tmp, bool data)
{
	char target[PATH_MAX + 1];
	int sfd, dfd, err = 0;
	ssize_t len;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		sfd = vn_reopen(fs, src, O_RDONLY);
		if (sfd < 0)
			return sfd;
		dfd = vn_openat(fs, fs->work_fd, tmp,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (dfd < 0) {
			close(sfd);
			return dfd;
		}
		if (data)
			err = copy_data(sfd, dfd, st->st_size);
		if (!err && data && !fs->nosync && fsync(dfd) < 0)
			err = -errno;
		close(sfd);
		close(dfd);
		break;
	case S_IFDIR:
		err = mkdirat(fs->work_fd, tmp, 0700) < 0 ? -errno : 0;
		break;
	case S_IFLNK:
		len = readlinkat(src, "", target, sizeof(target) - 1);
		if (len < 0)
			return -errno;
		target[len] = '\0';
		err = symlinkat(target, fs->work_fd, tmp) < 0 ? -errno : 0;
		break;
	default:
		err = mknodat(fs->work_fd, tmp, st->st_mode & S_IFMT,
			      st->st_rdev) < 0 ? -errno : 0;
		break;
	}
	if (err) {
		unlinkat(fs->work_fd, tmp, S_ISDIR(st->st_mode) ? AT_REMOVEDIR
							       : 0);
		return err;
	}
	dfd = vn_openat(fs, fs->work_fd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC,
			0);
	return dfd;
}

/* Owner, mode, xattrs, origin and times of the copy open as dfd (named
 * tmp in the work dir). The original is name in the directory open as
 * sdir: libattr reaches objects by path, and /proc/self/fd/N itself would
 * be the magic link, not the object. */
static int copy_attrs(struct vn_fs *fs, struct vn_node *n, int sdir,
		      const char *name, int dfd, const char *tmp,
		      const struct stat *st)
{
	char spath[PATH_MAX], dpath[PATH_MAX], path[32];
	struct timespec tv[2] = { st->st_atim, st->st_mtim };
	int err;

	snprintf(spath, sizeof(spath), "/proc/self/fd/%d/%s", sdir, name);
	snprintf(dpath, sizeof(dpath), "/proc/self/fd/%d/%s", fs->work_fd,
		 tmp);
	vn_proc_path(dfd, path, sizeof(path));
	if (fchownat(dfd, "", st->st_uid, st->st_gid,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* After chown, which drops security.capability. */
	err = copy_xattrs(fs, spath, dpath);
	if (err)
		return err;
	/* After chown, which clears set-id bits, and after the ACLs. */
	if (!S_ISLNK(st->st_mode) && chmod(path, st->st_mode & 07777) < 0)
		return -errno;
	/* A name of a lower hard link keeps no number: the other names
	 * still show it (as on the kernel's overlayfs without index). */
	if (!n->alias)
		vn_origin_set(fs, path, n->rino);
	if (utimensat(dfd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Put the copy in place as name in the upper directory pfd, keeping that
 * directory's times as they were (the merged view did not change). */
static int place_copy(struct vn_fs *fs, const char *tmp, int pfd,
		      const char *name)
{
	struct timespec tv[2];
	struct stat pst;
	int err = 0;

	if (fstat(pfd, &pst) < 0)
		return -errno;
	if (renameat2(fs->work_fd, tmp, pfd, name, RENAME_NOREPLACE) < 0)
		return -errno;
	tv[0] = pst.st_atim;
	tv[1] = pst.st_mtim;
	utimensat(pfd, "", tv, AT_EMPTY_PATH);
	return err;
}

void vn_temp_name(struct vn_fs *fs, char *buf, size_t size)
{
	uint64_t seq = __atomic_add_fetch(&fs->tmp_seq, 1, __ATOMIC_RELAXED);

	snprintf(buf, size, "#vn%x.%" PRIx64, (unsigned int)getpid(), seq);
}

/* Copy n up; its parent is already in the upper layer. */
static int copy_up_one(struct vn_fs *fs, struct vn_node *n, bool data)
{
	char name[NAME_MAX + 1], tmp[48];
	struct vn_entry_key key = { .mount_id = -1 };
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *p;
	struct vn_real r;
	struct stat st;
	int src, sdir, pfd, dfd, fd, err;
	bool owned;

	p = vn_table_get_parent(&fs->table, n, name, sizeof(name));
	if (!p)
		return -ESTALE;
	err = vn_copy_up(fs, p, true);
	if (err)
		goto out_put;
	pfd = vn_node_fd(fs, p);
	src = pfd < 0 ? pfd : vn_node_fd(fs, n);
	if (src < 0) {
		err = src;
		goto out_put;
	}
	if (fstat(src, &st) < 0) {
		err = -errno;
		goto out_put;
	}
	vn_temp_name(fs, tmp, sizeof(tmp));
	dfd = make_copy(fs, src, &st, tmp, data);
	if (dfd < 0) {
		err = dfd;
		goto out_put;
	}
	/* The original's directory, on the original's layer. */
	vn_table_real(&fs->table, n, -1, &r);
	sdir = vn_node_layer_fd(fs, p, r.layer, &owned);
	err = sdir < 0 ? sdir : copy_attrs(fs, n, sdir, name, dfd, tmp, &st);
	if (sdir >= 0 && owned)
		close(sdir);
	close(dfd);
	if (!err)
		err = place_copy(fs, tmp, pfd, name);
	if (err) {
		unlinkat(fs->work_fd, tmp, S_ISDIR(st.st_mode) ? AT_REMOVEDIR
							      : 0);
		/* Another node for the same name (a lookup that raced with
		 * an earlier copy-up) got there first: take its copy. */
		if (err != -EEXIST)
			goto out_put;
	}
	fd = vn_openat(fs, pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		err = fd;
		goto out_put;
	}
	err = fstat(fd, &st) < 0 ? -errno : vn_wh_is_dev(&st) ? -ENOENT : 0;
	if (err) {
		close(fd);
		goto out_put;
	}
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.layer = 0;
	if (n->alias)
		key.rino = vn_layer_ino(fs, 0, st.st_ino);
	key.handle = vn_get_handle(fs, fd, &key.mount_id);
	if (!key.handle)
		key.birth = vn_birth(fd);
	err = vn_table_copied_up(&fs->table, n, &key, fd, &g);
	free(key.handle);
	vn_garbage_release(&g);
	/* Its link count and inode number changed: the kernel must not go
	 * on showing the cached ones. (Attributes only: no lock is taken.) */
	if (!err && key.rino && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, n->nodeid, -1, 0);
out_put:
	vn_node_put(fs, p);
	return err;
}

bool vn_node_is_upper(struct vn_fs *fs, struct vn_node *n)
{
	struct vn_real r;

	vn_table_real(&fs->table, n, -1, &r);
	return vn_layer_is_upper(fs, r.layer);
}

int vn_copy_up(struct vn_fs *fs, struct vn_node *n, bool data)
{
	int err;

	if (!fs->overlay || vn_node_is_upper(fs, n))
		return 0;
	if (!fs->writable)
		return -EROFS;
	pthread_mutex_lock(&fs->copy_lock);
	while (n->copying)
		pthread_cond_wait(&fs->copy_cond, &fs->copy_lock);
	if (vn_node_is_upper(fs, n)) {
		pthread_mutex_unlock(&fs->copy_lock);
		return 0; /* another request copied it meanwhile */
	}
	n->copying = 1;
	pthread_mutex_unlock(&fs->copy_lock);

	err = copy_up_one(fs, n, data);

	pthread_mutex_lock(&fs->copy_lock);
	n->copying = 0;
	pthread_cond_broadcast(&fs->copy_cond);
	pthread_mutex_unlock(&fs->copy_lock);
	if (err)
		vn_debug("copy-up of nodeid %llu failed: %s",
			 (unsigned long long)n->nodeid, strerror(-err));
	return err;
}
