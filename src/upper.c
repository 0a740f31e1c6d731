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

int vn_child_get(struct vn_fs *fs, struct vn_node *dir, const char *name,
		 struct vn_node **np)
{
	struct vn_garbage g = { .nfds = 0 };
	struct fuse_entry_param e;
	int err;

	*np = NULL;
	/* An overlay looks names up in dir's layers, not in one fd. */
	err = vn_lookup_entry(fs, NULL, dir, -1, name, &e);
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

int vn_upper_dir_for(struct vn_fs *fs, struct vn_node *dir, const char *name,
		     int *dirfd)
{
	struct vn_found f;
	int err;

	/* The kernel sends a create only for a name it found absent; this
	 * matters where dir would be copied up for nothing. */
	if (!vn_node_is_upper(fs, dir)) {
		err = vn_walk(fs, NULL, dir, name, &f);
		if (!err) {
			vn_found_free(&f);
			return -EEXIST;
		}
		if (err != -ENOENT)
			return err;
	}
	return vn_upper_dir(fs, dir, dirfd);
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
		 * must not show what the whiteout hid. If either step fails,
		 * the new object goes again and the name stays whited out. */
		ret = make(dirfd, name, arg);
		if (ret < 0)
			return ret;
		err = is_dir ? make_opaque(fs, dirfd, name) : 0;
		if (!err)
			err = vn_wh_remove(dirfd, name, VN_WH_FILE);
		if (err) {
			if (ret > 0)
				close(ret);
			unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0);
			return err;
		}
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

/* Remove the directory tmp from the work dir (it holds whiteouts at
 * most); a failure leaves it for the next mount to clean. */
static void remove_work_dir(struct vn_fs *fs, const char *tmp)
{
	int err = remove_dir(fs->work_fd, tmp);

	if (err)
		vn_warn("cannot remove '%s' from the work dir: %s", tmp,
			strerror(-err));
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
	if (is_dir)
		remove_work_dir(fs, tmp);
	else if (unlinkat(fs->work_fd, tmp, 0) < 0)
		vn_warn("cannot remove '%s' from the work dir: %s", tmp,
			strerror(errno));
	return 0;
}

/* What a RENAME in an overlay works on. */
struct vn_rename {
	struct vn_fs *fs;
	struct vn_node *dir, *newdir;	/* the parents */
	const char *name, *newname;
	unsigned int flags;
	struct vn_node *src;		/* what name shows */
	struct vn_node *dst;		/* what newname shows, or NULL */
	int dirfd, newdirfd;		/* the parents' upper fds, once
					 * copied up */
};

/* Every check that can fail the rename, made before anything is copied
 * up (the kernel's overlayfs changes nothing for a rename it refuses).
 * Returns 0, 1 if there is nothing to do, or -errno. */
static int rename_check(struct vn_rename *r)
{
	struct vn_fs *fs = r->fs;
	bool exchange = r->flags & RENAME_EXCHANGE, src_dir;
	int err;

	/* Whiteouts are the overlay's to make, as on the kernel's. */
	if (r->flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	err = vn_child_get(fs, r->dir, r->name, &r->src);
	if (err)
		return err;
	src_dir = r->src->type == S_IFDIR;
	/* Without redirects a directory with lower parts cannot move. */
	if (src_dir && (!vn_node_is_upper(fs, r->src) ||
			vn_node_merged(fs, r->src)))
		return -EXDEV;
	err = vn_child_get(fs, r->newdir, r->newname, &r->dst);
	if (err == -ENOENT)
		return exchange ? -ENOENT : 0;
	if (err)
		return err;
	if (r->flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (r->dst == r->src)
		return 1; /* two names of one file: nothing happens */
	if (exchange)
		return r->dst->type == S_IFDIR &&
			       (!vn_node_is_upper(fs, r->dst) ||
				vn_node_merged(fs, r->dst))
		       ? -EXDEV
		       : 0;
	if (r->dst->type == S_IFDIR)
		return src_dir ? vn_merged_empty(fs, r->dst) : -EISDIR;
	return src_dir ? -ENOTDIR : 0;
}

/* Copy up the parents and what is moved. */
static int rename_prepare(struct vn_rename *r)
{
	int err = vn_upper_dir(r->fs, r->dir, &r->dirfd);

	if (!err)
		err = vn_upper_dir(r->fs, r->newdir, &r->newdirfd);
	if (!err)
		err = vn_copy_up(r->fs, r->src, true);
	if (!err && r->dst && (r->flags & RENAME_EXCHANGE))
		err = vn_copy_up(r->fs, r->dst, true);
	return err;
}

/* A directory that lands where lower layers have (or may come to have)
 * a directory of its name is made opaque before it moves, lest they
 * merge into it; where it stands now it is upper only, so this changes
 * nothing there. */
static int opaque_before_move(struct vn_fs *fs, struct vn_node *n)
{
	int fd;

	if (n->type != S_IFDIR)
		return 0;
	fd = vn_node_fd(fs, n);
	return fd < 0 ? fd : vn_wh_set_opaque(fs, fd);
}

static int rename_exchange(struct vn_rename *r)
{
	struct vn_fs *fs = r->fs;
	int err = 0;

	if (vn_node_merged(fs, r->newdir))
		err = opaque_before_move(fs, r->src);
	if (!err && vn_node_merged(fs, r->dir))
		err = opaque_before_move(fs, r->dst);
	if (!err && renameat2(r->dirfd, r->name, r->newdirfd, r->newname,
			      RENAME_EXCHANGE) < 0)
		err = -errno;
	return err;
}

/* An upper directory at newname that the merged view shows empty may
 * still hold whiteouts, which rename(2) counts. It is swapped with an
 * empty opaque directory (the view stays empty), and the old one goes
 * once the rename is done. *old gets its temporary name in work. */
static int rename_clear_dst(struct vn_rename *r, char *old, size_t size)
{
	struct vn_fs *fs = r->fs;
	int fd, err;

	vn_temp_name(fs, old, size);
	if (mkdirat(fs->work_fd, old, 0700) < 0)
		return -errno;
	fd = openat(fs->work_fd, old, O_PATH | O_DIRECTORY | O_NOFOLLOW |
					      O_CLOEXEC);
	err = fd < 0 ? -errno : vn_wh_set_opaque(fs, fd);
	if (fd >= 0)
		close(fd);
	if (!err && renameat2(fs->work_fd, old, r->newdirfd, r->newname,
			      RENAME_EXCHANGE) < 0)
		err = -errno;
	if (err)
		unlinkat(fs->work_fd, old, AT_REMOVEDIR);
	return err;
}

/* A directory moving onto a whiteout device: the two are exchanged, which
 * leaves the whiteout at the old name. */
static int rename_onto_whiteout(struct vn_rename *r, bool old_lower)
{
	if (renameat2(r->dirfd, r->name, r->newdirfd, r->newname,
		      RENAME_EXCHANGE) < 0)
		return -errno;
	if (!old_lower && unlinkat(r->dirfd, r->name, 0) < 0)
		vn_warn("rename: cannot remove the whiteout left at '%s': %s",
			r->name, strerror(errno));
	return 0;
}

/* The rename itself, leaving a whiteout at the old name where a lower
 * layer has it. A whiteout file is made first (the upper object still
 * shows while both exist), so that no moment, nor a crash, shows the
 * lower object again. */
static int rename_with_whiteout(struct vn_rename *r, bool old_lower)
{
	struct vn_fs *fs = r->fs;
	int err;

	if (!old_lower)
		return renameat2(r->dirfd, r->name, r->newdirfd, r->newname,
				 0) < 0 ? -errno : 0;
	if (fs->wh_dev) {
		if (renameat2(r->dirfd, r->name, r->newdirfd, r->newname,
			      RENAME_WHITEOUT) == 0)
			return 0;
		if (errno != EINVAL && errno != EPERM)
			return -errno;
		/* No RENAME_WHITEOUT here: a device is made right after. */
		if (renameat2(r->dirfd, r->name, r->newdirfd, r->newname,
			      0) < 0)
			return -errno;
		return vn_wh_make(fs, r->dirfd, r->name);
	}
	err = vn_wh_make(fs, r->dirfd, r->name);
	if (err)
		return err;
	if (renameat2(r->dirfd, r->name, r->newdirfd, r->newname, 0) < 0) {
		err = -errno;
		vn_wh_remove(r->dirfd, r->name, VN_WH_FILE);
	}
	return err;
}

static int rename_move(struct vn_rename *r)
{
	struct vn_fs *fs = r->fs;
	bool src_dir = r->src->type == S_IFDIR, old_lower, dst_lower;
	char old[48] = "";
	enum vn_wh wh;
	int err = 0, left;

	old_lower = lower_has(fs, r->dir, r->name);
	dst_lower = r->dst ? !vn_node_is_upper(fs, r->dst) ||
				     lower_has(fs, r->newdir, r->newname)
			   : lower_has(fs, r->newdir, r->newname);
	wh = vn_wh_find(r->newdirfd, r->newname);
	if (src_dir && (dst_lower || wh != VN_WH_NONE ||
			vn_node_merged(fs, r->newdir)))
		err = opaque_before_move(fs, r->src);
	if (err)
		return err;
	if (wh == VN_WH_DEV && src_dir)
		return rename_onto_whiteout(r, old_lower);
	if (r->dst && r->dst->type == S_IFDIR && vn_node_is_upper(fs, r->dst))
		err = rename_clear_dst(r, old, sizeof(old));
	if (!err)
		err = rename_with_whiteout(r, old_lower);
	if (err && old[0] &&
	    renameat2(fs->work_fd, old, r->newdirfd, r->newname,
		      RENAME_EXCHANGE) < 0)
		vn_warn("rename: cannot put back '%s': %s", r->newname,
			strerror(errno));
	if (old[0])
		remove_work_dir(fs, old);
	/* The moved object shows over a .wh. file left beside it. */
	if (!err && wh == VN_WH_FILE &&
	    (left = vn_wh_remove(r->newdirfd, r->newname, wh)) < 0)
		vn_warn("rename: cannot remove the whiteout of '%s': %s",
			r->newname, strerror(-left));
	return err;
}

int vn_upper_rename(struct vn_fs *fs, struct vn_node *dir, const char *name,
		    struct vn_node *newdir, const char *newname,
		    unsigned int flags)
{
	struct vn_rename r = { .fs = fs, .dir = dir, .newdir = newdir,
			       .name = name, .newname = newname,
			       .flags = flags };
	int err = rename_check(&r);

	if (!err)
		err = rename_prepare(&r);
	if (!err)
		err = (flags & RENAME_EXCHANGE) ? rename_exchange(&r)
						: rename_move(&r);
	vn_node_put(fs, r.dst);
	vn_node_put(fs, r.src);
	return err > 0 ? 0 : err;
}

bool vn_node_merged(struct vn_fs *fs, struct vn_node *n)
{
	int layers[2];

	return vn_table_layers(&fs->table, n, layers, 2) > 1;
}
