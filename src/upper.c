/* Namespace changes in the upper layer of an overlay: making a name where
 * a whiteout stands, removing one that lower layers also have, and the
 * emptiness rules of merged directories. dir.c and file.c call these; in
 * passthrough mode they reduce to the plain call.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"
#include "whiteout.h"

int vn_child_get(struct vn_fs *fs, struct vn_node *dir, int dirfd,
		 const char *name, struct vn_node **np)
{
	struct vn_garbage g = { .nfds = 0 };
	struct fuse_entry_param e;
	int err;

	*np = NULL;
	err = vn_lookup_entry(fs, NULL, dir, dirfd, name, &e);
	if (err)
		return err;
	*np = vn_node_get(fs, e.ino);
	vn_table_forget(&fs->table, e.ino, 1, &g);
	vn_garbage_release(&g);
	return *np ? 0 : -ESTALE;
}

int vn_upper_dir(struct vn_fs *fs, struct vn_node *dir, int *dirfd)
{
	int err = vn_copy_up(fs, dir, true);

	if (err)
		return err;
	*dirfd = vn_node_fd(fs, dir);
	return *dirfd < 0 ? *dirfd : 0;
}

/* A new object in a setgid directory takes its group (and a directory
 * the bit), as it would had it been made there and not in the work dir. */
static void inherit_sgid(int dirfd, int fd, bool is_dir)
{
	struct stat dst, st;
	char path[32];

	if (fstat(dirfd, &dst) < 0 || !(dst.st_mode & S_ISGID) ||
	    fstat(fd, &st) < 0)
		return;
	fchownat(fd, "", (uid_t)-1, dst.st_gid, AT_EMPTY_PATH |
							AT_SYMLINK_NOFOLLOW);
	if (is_dir) {
		vn_proc_path(fd, path, sizeof(path));
		chmod(path, (st.st_mode & 07777) | S_ISGID);
	}
}

static void remove_temp(struct vn_fs *fs, const char *tmp)
{
	if (unlinkat(fs->work_fd, tmp, 0) < 0 && errno == EISDIR)
		unlinkat(fs->work_fd, tmp, AT_REMOVEDIR);
}

/* Make a directory just made as name in dirfd opaque. */
static int make_opaque(struct vn_fs *fs, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY |
					     O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = vn_wh_set_opaque(fs, fd);
	close(fd);
	return err;
}

int vn_upper_create(struct vn_fs *fs, int dirfd, const char *name,
		    mode_t type, vn_make_fn make, void *arg)
{
	bool is_dir = S_ISDIR(type);
	enum vn_wh wh = fs->overlay ? vn_wh_find(dirfd, name) : VN_WH_NONE;
	char tmp[48];
	int ret, err, fd;

	if (wh == VN_WH_NONE)
		return make(dirfd, name, arg);
	if (wh == VN_WH_FILE) {
		/* Made next to its ".wh." file, which then goes: a directory
		 * must not show what the whiteout hid. */
		ret = make(dirfd, name, arg);
		if (ret < 0)
			return ret;
		err = is_dir ? make_opaque(fs, dirfd, name) : 0;
		if (!err)
			err = vn_wh_remove(dirfd, name, VN_WH_FILE);
		if (err)
			vn_warn("cannot finish creating '%s': %s", name,
				strerror(-err));
		return ret;
	}
	/* A whiteout device: make the object in the work dir and swap the
	 * two, so that the name is never missing nor showing the lower. */
	vn_temp_name(fs, tmp, sizeof(tmp));
	ret = make(fs->work_fd, tmp, arg);
	if (ret < 0)
		return ret;
	fd = openat(fs->work_fd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (!err) {
		/* A link is an existing object: its group stays. */
		if (type)
			inherit_sgid(dirfd, fd, is_dir);
		if (is_dir)
			err = vn_wh_set_opaque(fs, fd);
		close(fd);
	}
	if (!err && renameat2(fs->work_fd, tmp, dirfd, name,
			      RENAME_EXCHANGE) < 0)
		err = -errno;
	if (err) {
		remove_temp(fs, tmp);
		if (ret > 0)
			close(ret);
		return err;
	}
	unlinkat(fs->work_fd, tmp, 0); /* the whiteout, now in work */
	return ret;
}

/* Remove every whiteout in the directory open as dfd (O_PATH); fails with
 * -ENOTEMPTY, having removed nothing, if anything else is in it. */
static int clear_whiteouts(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int err = 0, pass;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	/* First look, then remove: nothing goes unless all can. */
	for (pass = 0; pass < 2 && !err; pass++) {
		rewinddir(d);
		while ((de = readdir(d)) && !err) {
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (!vn_wh_is_dev(&st) && !vn_wh_reserved(de->d_name))
				err = -ENOTEMPTY;
			else if (pass == 1 && unlinkat(dfd, de->d_name, 0) < 0)
				err = -errno;
		}
	}
	closedir(d);
	return err;
}

/* Remove the real directory name in dirfd, whose merged view is empty:
 * what it still holds are whiteouts. */
static int remove_dir(int dirfd, const char *name)
{
	int dfd, err;

	if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	dfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
					  O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = clear_whiteouts(dfd);
	close(dfd);
	if (!err && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		err = -errno;
	return err;
}

/* Remove name from dirfd: a file, or a directory holding only whiteouts. */
static int remove_name(int dirfd, const char *name, bool is_dir)
{
	if (is_dir)
		return remove_dir(dirfd, name);
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

int vn_merged_empty(struct vn_fs *fs, struct vn_node *n)
{
	struct vn_list l;
	int err = vn_list_build(fs, n, &l);

	if (err)
		return err;
	err = l.count > 0 ? -ENOTEMPTY : 0;
	vn_list_free(&l);
	return err;
}

/* Would a lower layer show name in dir if the upper had nothing there? */
static bool lower_has(struct vn_fs *fs, struct vn_node *dir, const char *name)
{
	struct vn_found f;
	bool has;

	if (vn_walk_from(fs, dir, name, 1, &f) != 0)
		return false;
	has = true;
	vn_found_free(&f);
	return has;
}

int vn_upper_remove(struct vn_fs *fs, struct vn_node *dir, int dirfd,
		    const char *name, struct vn_node *n, bool is_dir)
{
	bool upper = vn_node_is_upper(fs, n), whiteout;
	char tmp[48];
	int err;

	if (is_dir) {
		err = vn_merged_empty(fs, n);
		if (err)
			return err;
	}
	whiteout = !upper || lower_has(fs, dir, name);
	if (!whiteout)
		return remove_name(dirfd, name, is_dir);
	if (!upper)
		return vn_wh_make(fs, dirfd, name);
	if (!fs->wh_dev) {
		/* The ".wh." file first: the name never shows the lower. */
		err = vn_wh_make(fs, dirfd, name);
		if (!err)
			err = remove_name(dirfd, name, is_dir);
		return err;
	}
	/* Swap a new whiteout with the object, then remove it from work. */
	vn_temp_name(fs, tmp, sizeof(tmp));
	err = vn_wh_make(fs, fs->work_fd, tmp);
	if (err)
		return err;
	if (renameat2(fs->work_fd, tmp, dirfd, name, RENAME_EXCHANGE) < 0) {
		err = -errno;
		unlinkat(fs->work_fd, tmp, 0);
		return err;
	}
	err = remove_name(fs->work_fd, tmp, is_dir);
	if (err)
		vn_warn("cannot remove '%s' from the work dir: %s", tmp,
			strerror(-err));
	return 0;
}

int vn_upper_rename(struct vn_fs *fs, struct vn_node *dir, int dirfd,
		    const char *name, struct vn_node *newdir, int newdirfd,
		    const char *newname, unsigned int flags)
{
	struct vn_node *src = NULL, *dst = NULL;
	bool src_dir, dst_lower = false, old_lower;
	enum vn_wh wh;
	int err;

	/* Whiteouts are the overlay's to make, as on the kernel's. */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	err = vn_child_get(fs, dir, dirfd, name, &src);
	if (err)
		return err;
	src_dir = src->type == S_IFDIR;
	/* Without redirects a directory with lower parts cannot move. */
	if (src_dir && (!vn_node_is_upper(fs, src) || vn_node_merged(fs, src))) {
		err = -EXDEV;
		goto out;
	}
	err = vn_child_get(fs, newdir, newdirfd, newname, &dst);
	if (err && err != -ENOENT)
		goto out;
	if (!dst && (flags & RENAME_EXCHANGE)) {
		err = -ENOENT;
		goto out;
	}
	if (dst && (flags & RENAME_NOREPLACE)) {
		err = -EEXIST;
		goto out;
	}
	err = 0;
	if (dst == src)
		goto out; /* two names of one file: nothing happens */
	if (dst && dst->type == S_IFDIR) {
		if (!src_dir && !(flags & RENAME_EXCHANGE)) {
			err = -EISDIR;
			goto out;
		}
		if (flags & RENAME_EXCHANGE) {
			if (!vn_node_is_upper(fs, dst) ||
			    vn_node_merged(fs, dst))
				err = -EXDEV;
		} else {
			err = vn_merged_empty(fs, dst);
		}
		if (err)
			goto out;
	} else if (dst && src_dir && !(flags & RENAME_EXCHANGE)) {
		err = -ENOTDIR;
		goto out;
	}
	err = vn_copy_up(fs, src, true);
	if (!err && dst && (flags & RENAME_EXCHANGE))
		err = vn_copy_up(fs, dst, true);
	if (err)
		goto out;
	old_lower = lower_has(fs, dir, name);
	if (flags & RENAME_EXCHANGE) {
		if (renameat2(dirfd, name, newdirfd, newname, RENAME_EXCHANGE))
			err = -errno;
		/* A directory moved into a merged one is made opaque, lest
		 * a lower directory of its new name merge into it. */
		if (!err && src_dir && vn_node_merged(fs, newdir))
			make_opaque(fs, newdirfd, newname);
		if (!err && dst && dst->type == S_IFDIR &&
		    vn_node_merged(fs, dir))
			make_opaque(fs, dirfd, name);
		goto out;
	}
	dst_lower = dst ? !vn_node_is_upper(fs, dst) || lower_has(fs, newdir,
								  newname)
			: lower_has(fs, newdir, newname);
	wh = vn_wh_find(newdirfd, newname);
	if (dst && dst->type == S_IFDIR && vn_node_is_upper(fs, dst)) {
		/* An empty merged directory may still hold whiteouts. */
		int dfd = vn_node_fd(fs, dst);

		err = dfd < 0 ? dfd : clear_whiteouts(dfd);
	} else if (wh == VN_WH_DEV && src_dir) {
		/* A directory does not replace a device. */
		err = vn_wh_remove(newdirfd, newname, wh);
		wh = VN_WH_NONE;
	}
	if (err)
		goto out;
	if (old_lower && fs->wh_dev &&
	    renameat2(dirfd, name, newdirfd, newname, RENAME_WHITEOUT) == 0) {
		old_lower = false; /* the whiteout is in place */
	} else if (renameat2(dirfd, name, newdirfd, newname, 0) < 0) {
		err = -errno;
		goto out;
	}
	if (old_lower)
		err = vn_wh_make(fs, dirfd, name);
	if (!err && wh == VN_WH_FILE)
		err = vn_wh_remove(newdirfd, newname, wh);
	if (!err && src_dir &&
	    (dst_lower || wh != VN_WH_NONE || vn_node_merged(fs, newdir)))
		err = make_opaque(fs, newdirfd, newname);
out:
	vn_node_put(fs, dst);
	vn_node_put(fs, src);
	return err;
}

bool vn_node_merged(struct vn_fs *fs, struct vn_node *n)
{
	int layers[2];

	return vn_table_layers(&fs->table, n, layers, 2) > 1;
}
