/* LOOKUP, FORGET and BATCH_FORGET: names to nodes, and the kernel's lookup
 * counts. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"

int vn_check_name(const char *name)
{
	if (strchr(name, '/'))
		return -EINVAL;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The file handle of the object open as fd, or NULL where the filesystem
 * has none (the node then reopens by name). */
static struct file_handle *get_handle(struct vn_fs *fs, int fd, int *mount_id)
{
	struct file_handle *fh;

	if (!fs->use_handles)
		return NULL;
	fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return NULL;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, mount_id, AT_EMPTY_PATH) < 0) {
		free(fh);
		return NULL;
	}
	/* Keep only the bytes used: most handles are 8 to 20 bytes. */
	return realloc(fh, sizeof(*fh) + fh->handle_bytes) ?: fh;
}

static void fill_timeouts(struct vn_fs *fs, struct fuse_entry_param *e)
{
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->entry_timeout;
	e->generation = 0; /* nodeids carry their own generation */
}

/* Open name in dirfd as an O_PATH fd, never following a symlink.
 * Returns the fd or -errno. */
static int open_child(struct vn_fs *fs, fuse_req_t req, int dirfd,
		      const char *name)
{
	struct vn_creds c = { .active = false };
	int fd, err = 0;

	if (req && fs->lookup_as_caller)
		err = vn_creds_enter(true, req, &c);
	if (err)
		return err;
	fd = vn_openat(fs, dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	vn_creds_leave(&c);
	return fd;
}

int vn_lookup_entry(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
		    int dirfd, const char *name, struct fuse_entry_param *e)
{
	int fd;

	/* ".." of the root would leave the source: it is the root itself. */
	if (strcmp(name, "..") == 0 && dir->nodeid == FUSE_ROOT_ID)
		name = ".";
	fd = open_child(fs, req, dirfd, name);
	if (fd < 0)
		return fd;
	return vn_entry_from_fd(fs, dir, name, fd, e);
}

uint64_t vn_birth(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BTIME,
		  &stx) < 0 || !(stx.stx_mask & STATX_BTIME))
		return 0;
	return (uint64_t)stx.stx_btime.tv_sec * 1000000000u +
	       stx.stx_btime.tv_nsec;
}

/* Without file handles, a node found by (dev, ino) may stand for a deleted
 * object whose inode number the object just found reuses (deleted behind
 * the daemon's back). Its cached fd then shows no links, while the object
 * found by name has some. Such a node is unhashed and the entry made anew.
 * Returns the node to use, with the lookup counted. */
static struct vn_node *drop_if_stale(struct vn_fs *fs, struct vn_node *dir,
				     const char *name, struct vn_node *n,
				     struct vn_entry_key *key,
				     const struct stat *found)
{
	struct vn_garbage g = { .nfds = 0 };
	struct stat st;
	int cached = vn_table_fd(&fs->table, n);

	if (fs->use_handles || cached < 0 || found->st_nlink == 0 ||
	    fstat(cached, &st) < 0 || st.st_nlink > 0)
		return n;
	vn_table_gone(&fs->table, key->dev, key->ino);
	vn_table_forget(&fs->table, n->nodeid, 1, &g);
	vn_table_put(&fs->table, n, &g);
	vn_garbage_release(&g);
	return vn_table_enter(&fs->table, dir, name, key);
}

int vn_entry_from_fd(struct vn_fs *fs, struct vn_node *dir, const char *name,
		     int fd, struct fuse_entry_param *e)
{
	struct vn_entry_key key = { .mount_id = -1 };
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *n;
	int err;

	memset(e, 0, sizeof(*e));
	if (fstat(fd, &e->attr) < 0) {
		err = -errno;
		goto out_close;
	}
	key.dev = e->attr.st_dev;
	key.ino = e->attr.st_ino;
	key.type = e->attr.st_mode;
	key.handle = get_handle(fs, fd, &key.mount_id);
	if (!key.handle)
		key.birth = vn_birth(fd);
	/* A mount below the source is entered by its root directory. */
	if (key.handle && S_ISDIR(e->attr.st_mode))
		vn_mount_note(fs, key.mount_id, fd);
	n = vn_table_enter(&fs->table, dir, name, &key);
	if (n)
		n = drop_if_stale(fs, dir, name, n, &key, &e->attr);
	if (!n) {
		err = -ENOMEM;
		goto out_close;
	}
	/* The fd is likely needed next (open, getattr): cache it. */
	vn_table_set_fd(&fs->table, n, fd, &g);
	vn_garbage_release(&g);
	e->ino = n->nodeid;
	fill_timeouts(fs, e);
	vn_node_put(fs, n);
	return 0;
out_close:
	close(fd);
	return err;
}

void vn_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vn_fs *fs = vn_fs(req);
	struct fuse_entry_param e;
	struct vn_node *dir;
	int dirfd, err;

	err = vn_check_name(name);
	if (err)
		goto out;
	err = vn_node_get_fd(fs, parent, &dir, &dirfd);
	if (err)
		goto out;
	err = vn_lookup_entry(fs, req, dir, dirfd, name, &e);
	vn_node_put(fs, dir);
	if (err == -ENOENT && fs->negative_timeout > 0) {
		/* A zero nodeid tells the kernel to cache the absence. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

static void forget_one(struct vn_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct vn_garbage g = { .nfds = 0 };

	if (vn_table_forget(&fs->table, ino, nlookup, &g) < 0)
		vn_debug("forget of unknown nodeid %llu",
			 (unsigned long long)ino);
	vn_garbage_release(&g);
}

void vn_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(vn_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

void vn_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets)
{
	struct vn_fs *fs = vn_fs(req);
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}
