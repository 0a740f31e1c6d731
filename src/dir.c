/* Namespace operations: READLINK MKNOD MKDIR SYMLINK LINK UNLINK RMDIR
 * RENAME. Each is done relative to the parent's fd, as the caller. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "veneer.h"
#include "whiteout.h"

void vn_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vn_fs *fs = vn_fs(req);
	char buf[PATH_MAX + 1];
	struct vn_node *n;
	ssize_t len = 0;
	int fd, err;

	err = vn_node_get_fd(fs, ino, &n, &fd);
	if (err)
		goto out;
	len = readlinkat(fd, "", buf, sizeof(buf));
	if (len < 0)
		err = -errno;
	else if ((size_t)len == sizeof(buf))
		err = -ENAMETOOLONG;
	vn_node_put(fs, n);
out:
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

/* What a creating operation makes. */
struct vn_make {
	mode_t mode;		/* type and permission bits */
	dev_t rdev;		/* for mknod */
	const char *target;	/* for symlink */
};

static int do_make(fuse_req_t req, int dirfd, const char *name,
		   const struct vn_make *m)
{
	mode_t mode = m->mode;
	struct vn_umask u = { .set = false };
	int err;

	if (m->target) {
		err = symlinkat(m->target, dirfd, name);
	} else {
		vn_umask_enter(req, &mode, &u);
		if (S_ISDIR(mode))
			err = mkdirat(dirfd, name, mode & 07777);
		else
			err = mknodat(dirfd, name, mode, m->rdev);
		vn_umask_leave(&u);
	}
	return err < 0 ? -errno : 0;
}

struct make_arg {
	fuse_req_t req;
	const struct vn_make *m;
};

static int make_cb(int dirfd, const char *name, void *arg)
{
	struct make_arg *a = arg;

	return do_make(a->req, dirfd, name, a->m);
}

int vn_check_new_name(struct vn_fs *fs, const char *name)
{
	int err = vn_check_name(name);

	/* No kernel sends these; made or opened for creation, they would
	 * reach the directory itself or its parent. */
	if (!err && (!name[0] || !strcmp(name, ".") || !strcmp(name, "..")))
		err = -EINVAL;

	/* Such a name would read back as a whiteout. */
	if (!err && fs->overlay && vn_wh_reserved(name))
		err = -EINVAL;
	return err;
}

/* The parent node of a new name, with its fd in the upper layer. */
static int get_upper_dir(struct vn_fs *fs, fuse_ino_t ino, const char *name,
			 struct vn_node **dir, int *dirfd)
{
	int err = vn_node_get_fd(fs, ino, dir, dirfd);

	if (!err && fs->overlay) {
		err = vn_upper_dir_for(fs, *dir, name, dirfd);
		if (err) {
			vn_node_put(fs, *dir);
			*dir = NULL;
		}
	}
	return err;
}

/* Create name in parent as the caller, then look it up for the reply. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       const struct vn_make *m)
{
	struct vn_fs *fs = vn_fs(req);
	struct make_arg a = { .req = req, .m = m };
	struct fuse_entry_param e;
	struct vn_node *dir = NULL;
	struct vn_creds c;
	int dirfd, err;

	err = vn_check_new_name(fs, name);
	if (!err)
		err = get_upper_dir(fs, parent, name, &dir, &dirfd);
	if (err)
		goto out;
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		err = vn_upper_create(fs, dirfd, name, m->mode & S_IFMT,
				      make_cb, &a);
		vn_creds_leave(&c);
	}
	if (!err)
		err = vn_lookup_entry(fs, NULL, dir, dirfd, name, &e);
	vn_node_put(fs, dir);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		vn_reply_entry(req, &e);
}

void vn_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	struct vn_make m = { .mode = mode, .rdev = rdev };
	struct stat st = { .st_mode = mode, .st_rdev = rdev };

	/* It would read back as a whiteout; the kernel's overlayfs refuses
	 * it the same way. */
	if (vn_fs(req)->overlay && vn_wh_is_dev(&st)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	make_entry(req, parent, name, &m);
}

void vn_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode)
{
	struct vn_make m = { .mode = S_IFDIR | mode };

	make_entry(req, parent, name, &m);
}

void vn_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name)
{
	struct vn_make m = { .mode = S_IFLNK, .target = link };

	make_entry(req, parent, name, &m);
}

static int do_link(struct vn_fs *fs, int fd, int dirfd, const char *name,
		   bool as_caller)
{
	char path[32];

	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which a caller's fsuid
	 * does not carry; the magic link does the same without it. */
	if (!as_caller) {
		if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOENT && errno != EPERM)
			return -errno;
	}
	vn_proc_path(fd, path, sizeof(path));
	if (linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

struct link_arg {
	struct vn_fs *fs;
	int fd;
	bool as_caller;
};

static int link_cb(int dirfd, const char *name, void *arg)
{
	struct link_arg *a = arg;

	return do_link(a->fs, a->fd, dirfd, name, a->as_caller);
}

void vn_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n = NULL, *dir = NULL;
	struct fuse_entry_param e;
	struct vn_creds c;
	int fd, dirfd, err;

	err = vn_check_new_name(fs, newname);
	if (!err)
		err = vn_node_get_fd(fs, ino, &n, &fd);
	if (!err)
		err = get_upper_dir(fs, newparent, newname, &dir, &dirfd);
	/* A hard link is made in the upper layer, to the copied-up file. */
	if (!err && fs->overlay) {
		err = vn_copy_up(fs, n, true);
		fd = err ? err : vn_node_fd(fs, n);
		err = fd < 0 ? fd : 0;
	}
	if (err)
		goto out;
	if (vn_guard_links(fs))
		pthread_mutex_lock(vn_link_lock(fs, n->ino));
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		struct link_arg a = { .fs = fs, .fd = fd,
				      .as_caller = c.active && !c.kept };

		err = vn_upper_create(fs, dirfd, newname, 0, link_cb, &a);
		vn_creds_leave(&c);
	}
	if (vn_guard_links(fs))
		pthread_mutex_unlock(vn_link_lock(fs, n->ino));
	if (!err)
		err = vn_lookup_entry(fs, NULL, dir, dirfd, newname, &e);
out:
	vn_node_put(fs, dir);
	vn_node_put(fs, n);
	if (err)
		fuse_reply_err(req, -err);
	else
		vn_reply_entry(req, &e);
}

/* UNLINK or RMDIR in an overlay, done as the daemon: the kernel has
 * checked the caller's permissions already. Whatever can fail is checked
 * before the parent is copied up. */
static int remove_merged(struct vn_fs *fs, struct vn_node *dir,
			 const char *name, int flags)
{
	bool is_dir = flags & AT_REMOVEDIR;
	struct vn_node *n;
	int dirfd, err = vn_child_get(fs, dir, name, &n);

	if (err)
		return err;
	if (is_dir && n->type != S_IFDIR)
		err = -ENOTDIR;
	else if (!is_dir && n->type == S_IFDIR)
		err = -EISDIR;
	else if (is_dir)
		err = vn_merged_empty(fs, n);
	if (!err)
		err = vn_upper_dir(fs, dir, &dirfd);
	if (!err)
		err = vn_upper_remove(fs, dir, dirfd, name, n, is_dir);
	vn_node_put(fs, n);
	return err;
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int flags)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *dir = NULL;
	struct vn_guard g;
	struct vn_creds c;
	int dirfd, err;

	err = vn_check_name(name);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (err)
		goto out;
	if (fs->overlay) {
		err = remove_merged(fs, dir, name, flags);
		vn_node_put(fs, dir);
		goto out;
	}
	vn_guard_begin(fs, -1, NULL, dirfd, name, true, &g);
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		if (unlinkat(dirfd, name, flags) < 0)
			err = -errno;
		vn_creds_leave(&c);
	}
	vn_guard_end(fs, &g, err);
	vn_node_put(fs, dir);
out:
	fuse_reply_err(req, -err);
}

void vn_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

void vn_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

/* Keep reopen-by-name working for nodes that have no file handle. */
static void note_moved(struct vn_fs *fs, struct vn_node *dir, int dirfd,
		       const char *name)
{
	struct stat st;

	if (fs->use_handles)
		return;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		vn_table_moved(&fs->table, st.st_dev, st.st_ino, dir, name);
}

/* RENAME in an overlay: names and layers are vn_upper_rename's. */
static int rename_merged(struct vn_fs *fs, struct vn_node *dir,
			 const char *name, struct vn_node *newdir,
			 const char *newname, unsigned int flags)
{
	int err = vn_upper_rename(fs, dir, name, newdir, newname, flags);
	int dirfd, newdirfd;

	if (err || fs->use_handles)
		return err;
	/* Both parents are upper now. */
	newdirfd = vn_node_fd(fs, newdir);
	if (newdirfd >= 0)
		note_moved(fs, newdir, newdirfd, newname);
	dirfd = vn_node_fd(fs, dir);
	if (dirfd >= 0 && (flags & RENAME_EXCHANGE))
		note_moved(fs, dir, dirfd, name);
	return 0;
}

void vn_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *dir = NULL, *newdir = NULL;
	int dirfd, newdirfd, err;
	struct vn_guard g;
	struct vn_creds c;

	err = vn_check_name(name);
	if (!err)
		err = vn_check_new_name(fs, newname);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (!err)
		err = vn_node_get_fd(fs, newparent, &newdir, &newdirfd);
	if (err)
		goto out;
	if (fs->overlay) {
		err = rename_merged(fs, dir, name, newdir, newname, flags);
		goto out;
	}
	/* A target that is replaced loses a link; the source moves. */
	vn_guard_begin(fs, dirfd, name, newdirfd, newname,
		    !(flags & RENAME_EXCHANGE), &g);
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		if (renameat2(dirfd, name, newdirfd, newname, flags) < 0)
			err = -errno;
		vn_creds_leave(&c);
	}
	vn_guard_end(fs, &g, err);
	if (!err) {
		note_moved(fs, newdir, newdirfd, newname);
		if (flags & RENAME_EXCHANGE)
			note_moved(fs, dir, dirfd, name);
	}
out:
	vn_node_put(fs, newdir);
	vn_node_put(fs, dir);
	fuse_reply_err(req, -err);
}
