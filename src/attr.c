/* GETATTR, SETATTR, ACCESS and STATFS. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "creds.h"
#include "idmap.h"
#include "veneer.h"

static int do_getattr(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

void vn_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n;
	struct stat st;
	int fd, err;

	err = vn_node_get_fd(fs, ino, &n, &fd);
	if (err)
		goto out;
	err = do_getattr(fd, &st);
	if (!err)
		vn_present(fs, n, fd, &st);
	vn_node_put(fs, n);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

#define VN_TIME_BITS (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | \
		      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)

/* What SETATTR is asked to do, decoded once. */
struct vn_setattr {
	struct vn_fs *fs;
	int fd;			/* the node's O_PATH fd */
	int fh;			/* open file handle, or -1 */
	const struct stat *attr;
	int valid;
	mode_t type;		/* the object's S_IFMT bits */
};

static int set_mode(struct vn_setattr *s)
{
	char path[32];
	int err;

	if (s->fh >= 0)
		err = fchmod(s->fh, s->attr->st_mode);
	else {
		vn_proc_path(s->fd, path, sizeof(path));
		err = chmod(path, s->attr->st_mode);
	}
	return err < 0 ? -errno : 0;
}

static int set_owner(struct vn_setattr *s)
{
	uid_t uid = (s->valid & FUSE_SET_ATTR_UID)
			    ? vn_uid_to_disk(s->fs, s->attr->st_uid)
			    : (uid_t)-1;
	gid_t gid = (s->valid & FUSE_SET_ATTR_GID)
			    ? vn_gid_to_disk(s->fs, s->attr->st_gid)
			    : (gid_t)-1;

	if (fchownat(s->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

static int set_size(struct vn_setattr *s)
{
	char path[32];
	int err;

	if (s->fh >= 0)
		err = ftruncate(s->fh, s->attr->st_size);
	else {
		/* Opens for writing as the caller: permissions apply. */
		vn_proc_path(s->fd, path, sizeof(path));
		err = truncate(path, s->attr->st_size);
	}
	return err < 0 ? -errno : 0;
}

static void pick_time(struct timespec *ts, int valid, int set_flag,
		      int now_flag, const struct timespec *value)
{
	if (valid & now_flag) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
	} else if (valid & set_flag) {
		*ts = *value;
	} else {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
	}
}

static int set_times(struct vn_setattr *s)
{
	struct timespec tv[2];
	int err;

	pick_time(&tv[0], s->valid, FUSE_SET_ATTR_ATIME,
		  FUSE_SET_ATTR_ATIME_NOW, &s->attr->st_atim);
	pick_time(&tv[1], s->valid, FUSE_SET_ATTR_MTIME,
		  FUSE_SET_ATTR_MTIME_NOW, &s->attr->st_mtim);
	if (s->fh >= 0) {
		err = futimens(s->fh, tv);
	} else {
		/* On the object itself, a symlink included. */
		err = utimensat(s->fd, "", tv,
				AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
	return err < 0 ? -errno : 0;
}

/* CHMOD/CHOWN with xattr_permissions: change the override, starting from
 * the current one or the real attributes. */
static int override_set(struct vn_setattr *s)
{
	unsigned int uid, gid, mode;
	char path[32], val[64];
	struct stat st;

	if (do_getattr(s->fd, &st) < 0)
		return -errno;
	if (vn_override_get(s->fs, s->fd, &uid, &gid, &mode) < 0) {
		uid = st.st_uid;
		gid = st.st_gid;
		mode = st.st_mode & 07777;
	}
	if (s->valid & FUSE_SET_ATTR_UID)
		uid = vn_uid_to_disk(s->fs, s->attr->st_uid);
	if (s->valid & FUSE_SET_ATTR_GID)
		gid = vn_gid_to_disk(s->fs, s->attr->st_gid);
	if (s->valid & FUSE_SET_ATTR_MODE)
		mode = s->attr->st_mode & 07777;
	snprintf(val, sizeof(val), "%u:%u:%o", uid, gid, mode);
	vn_proc_path(s->fd, path, sizeof(path));
	return setxattr(path, vn_override_name(s->fs), val, strlen(val), 0) < 0
		       ? -errno
		       : 0;
}

static int do_setattr(struct vn_setattr *s, struct stat *out)
{
	const int ids = FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
	int err = 0;

	if (vn_override_name(s->fs) && (s->valid & (FUSE_SET_ATTR_MODE | ids)) &&
	    (S_ISREG(s->type) || S_ISDIR(s->type))) {
		err = override_set(s);
		s->valid &= ~(FUSE_SET_ATTR_MODE | ids);
	}
	if (!err && (s->valid & FUSE_SET_ATTR_MODE))
		err = set_mode(s);
	if (!err && (s->valid & ids))
		err = set_owner(s);
	if (!err && (s->valid & FUSE_SET_ATTR_SIZE))
		err = set_size(s);
	if (!err && (s->valid & VN_TIME_BITS))
		err = set_times(s);
	if (!err)
		err = do_getattr(s->fd, out);
	return err;
}

/* Does this mode change only clear setuid/setgid bits? The kernel asks
 * for that when a non-owner writes to or truncates such a file; on a local
 * filesystem the kernel does it with its own privilege, so the daemon does
 * it with its own credentials, not the writer's. */
static bool only_kills_privs(struct vn_setattr *s)
{
	const mode_t priv = S_ISUID | S_ISGID;
	mode_t want = s->attr->st_mode & 07777;
	struct stat st;

	if (do_getattr(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	st.st_mode &= 07777;
	return want != st.st_mode && (want & ~priv) == (st.st_mode & ~priv) &&
	       (want & priv & ~st.st_mode) == 0;
}

/* With a writeback cache the kernel keeps a file's mtime itself and sends
 * its own value where the caller asked for "now" (touch(1) by a user who
 * may write the file but does not own it). Set as that user, the explicit
 * time would be refused. The kernel lets an explicit time through only
 * from the owner (default_permissions): from anyone else it means "now",
 * which the daemon sets with its own credentials. */
static bool kernel_time_now(struct vn_setattr *s, fuse_req_t req)
{
	struct stat st;

	if (!s->fs->opts->writeback || !s->fs->opts->default_permissions ||
	    !(s->valid & FUSE_SET_ATTR_MTIME) ||
	    (s->valid & FUSE_SET_ATTR_MTIME_NOW) || fuse_req_ctx(req)->uid == 0)
		return false;
	return do_getattr(s->fd, &st) == 0 &&
	       st.st_uid != vn_uid_to_disk(s->fs, fuse_req_ctx(req)->uid);
}

void vn_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int valid, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_setattr s = { .fs = fs, .attr = attr, .valid = valid };
	struct vn_creds c;
	struct vn_node *n;
	struct stat st;
	int err;

	n = vn_node_get(fs, ino);
	if (!n) {
		err = -ESTALE;
		goto out;
	}
	/* Truncating to nothing needs no data copied first. */
	err = vn_copy_up(fs, n, !((valid & FUSE_SET_ATTR_SIZE) &&
				  attr->st_size == 0));
	if (!err)
		s.fd = err = vn_node_fd(fs, n);
	if (err < 0)
		goto out_put;
	err = 0;
	/* Only a regular file's handle is an fd (a directory's is not). In
	 * an overlay it may still be open on the lower object, which must
	 * not change: only a writable one (already upper) is used. */
	s.fh = fi && n->type == S_IFREG ? (int)fi->fh : -1;
	s.type = n->type;
	if (s.fh >= 0 && fs->overlay &&
	    (fcntl(s.fh, F_GETFL) & O_ACCMODE) == O_RDONLY)
		s.fh = -1;
	if ((valid & FUSE_SET_ATTR_MODE) && only_kills_privs(&s)) {
		err = set_mode(&s);
		s.valid &= ~FUSE_SET_ATTR_MODE;
	}
	if (!err && fs->kill_privs) {
		/* FUSE_HANDLE_KILLPRIV_V2: a truncate that asks, or a SETATTR
		 * with nothing to set, which is what the kernel sends for a
		 * write or fallocate by a caller without CAP_FSETID that
		 * must clear set-ID bits (the bits themselves left to us). */
		if (!valid || ((valid & FUSE_SET_ATTR_SIZE) &&
			       vn_transport_kill_privs()))
			vn_kill_privs(req, s.fd);
	} else if (!err && (valid & FUSE_SET_ATTR_SIZE)) {
		vn_drop_sgid(req, s.fd);
	}
	if (!err && kernel_time_now(&s, req)) {
		err = set_times(&s);
		s.valid &= ~VN_TIME_BITS;
	}
	if (!err)
		err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		err = do_setattr(&s, &st);
		vn_creds_leave(&c);
	}
	if (!err)
		vn_present(fs, n, s.fd, &st);
out_put:
	vn_node_put(fs, n);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

void vn_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_creds c;
	struct vn_node *n;
	char path[32];
	int fd, err;

	err = vn_node_get_fd(fs, ino, &n, &fd);
	if (err)
		goto out;
	vn_proc_path(fd, path, sizeof(path));
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		/* AT_EACCESS: judge by the fsuid we just took, not the real
		 * uid, which stays the daemon's. */
		if (faccessat(AT_FDCWD, path, mask, AT_EACCESS) < 0)
			err = -errno;
		vn_creds_leave(&c);
	}
	vn_node_put(fs, n);
out:
	fuse_reply_err(req, -err);
}

void vn_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct vn_fs *fs = vn_fs(req);
	struct statvfs sv;
	struct vn_node *n;
	int fd, err;

	err = vn_node_get_fd(fs, ino, &n, &fd);
	if (err)
		goto out;
	/* An overlay reports its top layer's filesystem, as the kernel's
	 * does: that is where new data goes. */
	if (fstatvfs(fs->overlay ? fs->layers[0].fd : fd, &sv) < 0)
		err = -errno;
	vn_node_put(fs, n);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_statfs(req, &sv);
}
