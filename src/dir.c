/* Namespace operations: READLINK MKNOD MKDIR SYMLINK LINK UNLINK RMDIR
 * RENAME. Each is done relative to the parent's fd, as the caller. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "veneer.h"

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

/* Create name in parent as the caller, then look it up for the reply. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       const struct vn_make *m)
{
	struct vn_fs *fs = vn_fs(req);
	struct fuse_entry_param e;
	struct vn_node *dir = NULL;
	struct vn_creds c;
	int dirfd, err;

	err = vn_check_name(name);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (err)
		goto out;
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		err = do_make(req, dirfd, name, m);
		vn_creds_leave(&c);
	}
	if (!err)
		err = vn_lookup_entry(fs, NULL, dir, dirfd, name, &e);
	vn_node_put(fs, dir);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

void vn_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	struct vn_make m = { .mode = mode, .rdev = rdev };

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

/* A name about to be removed (or replaced by a rename). When it holds the
 * last link, the inode number may come back for a new object, which must
 * not be taken for the old one. File handles tell them apart by generation;
 * without them the node is unhashed once the name is gone, and removals
 * and links of the inode are serialised so that of two removals of its
 * last two links, the second sees st_nlink == 1. */
struct vn_removal {
	pthread_mutex_t *lock;	/* held from begin to end, or NULL */
	struct stat st;
	bool last;
};

static pthread_mutex_t *link_lock(struct vn_fs *fs, ino_t ino)
{
	return &fs->link_locks[ino % VN_LINK_LOCKS];
}

static void removal_begin(struct vn_fs *fs, int dirfd, const char *name,
			  struct vn_removal *r)
{
	ino_t ino;

	r->lock = NULL;
	r->last = false;
	if (fs->use_handles ||
	    fstatat(dirfd, name, &r->st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	ino = r->st.st_ino;
	r->lock = link_lock(fs, ino);
	pthread_mutex_lock(r->lock);
	/* Count again, now that no other change of this inode runs. */
	if (fstatat(dirfd, name, &r->st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    r->st.st_ino != ino)
		return; /* the name changed: nothing is known */
	r->last = S_ISDIR(r->st.st_mode) || r->st.st_nlink == 1;
}

static void removal_end(struct vn_fs *fs, struct vn_removal *r, int err)
{
	if (!err && r->last)
		vn_table_gone(&fs->table, r->st.st_dev, r->st.st_ino);
	if (r->lock)
		pthread_mutex_unlock(r->lock);
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

void vn_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *n = NULL, *dir = NULL;
	struct fuse_entry_param e;
	struct vn_creds c;
	int fd, dirfd, err;

	err = vn_check_name(newname);
	if (!err)
		err = vn_node_get_fd(fs, ino, &n, &fd);
	if (!err)
		err = vn_node_get_fd(fs, newparent, &dir, &dirfd);
	if (err)
		goto out;
	if (!fs->use_handles)
		pthread_mutex_lock(link_lock(fs, n->ino));
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		err = do_link(fs, fd, dirfd, newname, c.active);
		vn_creds_leave(&c);
	}
	if (!fs->use_handles)
		pthread_mutex_unlock(link_lock(fs, n->ino));
	if (!err)
		err = vn_lookup_entry(fs, NULL, dir, dirfd, newname, &e);
out:
	vn_node_put(fs, dir);
	vn_node_put(fs, n);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int flags)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *dir = NULL;
	struct vn_removal r;
	struct vn_creds c;
	int dirfd, err;

	err = vn_check_name(name);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (err)
		goto out;
	removal_begin(fs, dirfd, name, &r);
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		if (unlinkat(dirfd, name, flags) < 0)
			err = -errno;
		vn_creds_leave(&c);
	}
	removal_end(fs, &r, err);
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

void vn_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_node *dir = NULL, *newdir = NULL;
	int dirfd, newdirfd, err;
	struct vn_removal r = { .lock = NULL, .last = false };
	struct vn_creds c;

	err = vn_check_name(name);
	if (!err)
		err = vn_check_name(newname);
	if (!err)
		err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (!err)
		err = vn_node_get_fd(fs, newparent, &newdir, &newdirfd);
	if (err)
		goto out;
	/* A target that is replaced loses a link. */
	if (!(flags & RENAME_EXCHANGE))
		removal_begin(fs, newdirfd, newname, &r);
	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (!err) {
		if (renameat2(dirfd, name, newdirfd, newname, flags) < 0)
			err = -errno;
		vn_creds_leave(&c);
	}
	removal_end(fs, &r, err);
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
