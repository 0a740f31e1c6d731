/* Nodes as the handlers see them: a validated nodeid, a use reference, and
 * an O_PATH fd that is reopened on demand.
 *
 * A node does not pin a descriptor (see the fd budget in DESIGN.md): the
 * table caches a bounded number of O_PATH fds, and an evicted one is
 * reopened from the node's file handle, or, where the source filesystem
 * has no handles, from its parent's fd and its name, checking that the same
 * (st_dev, st_ino) is found. Neither way follows a symlink or walks a path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"

/* Deeper than any path can be: a guard against parent loops. */
#define VN_MAX_DEPTH (PATH_MAX / 2)

struct vn_node *vn_node_get(struct vn_fs *fs, fuse_ino_t ino)
{
	return vn_table_get(&fs->table, ino);
}

void vn_node_put(struct vn_fs *fs, struct vn_node *n)
{
	struct vn_garbage g = { .nfds = 0 };

	if (!n)
		return;
	vn_table_put(&fs->table, n, &g);
	vn_garbage_release(&g);
}

/* A version of the object: anything that changes its data or entries
 * changes its ctime (or its size, or which object it is). */
static uint64_t version(const struct stat *st)
{
	uint64_t v = (uint64_t)st->st_ino;

	v = v * 1000003 + (uint64_t)st->st_ctim.tv_sec;
	v = v * 1000003 + (uint64_t)st->st_ctim.tv_nsec;
	v = v * 1000003 + (uint64_t)st->st_size;
	return v ? v : 1;
}

bool vn_node_keep_cache(struct vn_fs *fs, struct vn_node *n, int fd)
{
	struct stat st;
	uint64_t v, old;

	v = fstat(fd, &st) < 0 ? 0 : version(&st);
	old = __atomic_exchange_n(&n->cache_stamp, v, __ATOMIC_RELAXED);
	if (v && old == v)
		return true;
	/* Changed since the last open: the kernel's attributes (the size
	 * its reads stop at) are stale too, however long their timeout. */
	if (old)
		fuse_lowlevel_notify_inval_inode(fs->se, n->nodeid, -1, 0);
	return false;
}

/* The mount table is append-only: readers scan the published entries
 * without a lock (nmounts is stored with release order after the entry is
 * filled); writers serialise on mount_lock. */
static int mount_fd(struct vn_fs *fs, int mount_id)
{
	int i, n = __atomic_load_n(&fs->nmounts, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (fs->mounts[i].id == mount_id)
			return fs->mounts[i].fd;
	return -1;
}

void vn_mount_note(struct vn_fs *fs, int mount_id, int fd)
{
	int dup_fd;

	if (mount_fd(fs, mount_id) >= 0)
		return;
	/* open_by_handle_at() takes no O_PATH fd as the mount's anchor. */
	dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return;
	pthread_mutex_lock(&fs->mount_lock);
	if (mount_fd(fs, mount_id) < 0 && fs->nmounts < VN_MAX_MOUNTS) {
		fs->mounts[fs->nmounts].id = mount_id;
		fs->mounts[fs->nmounts].fd = dup_fd;
		__atomic_store_n(&fs->nmounts, fs->nmounts + 1,
				 __ATOMIC_RELEASE);
		dup_fd = -1;
	}
	pthread_mutex_unlock(&fs->mount_lock);
	if (dup_fd >= 0)
		close(dup_fd);
}

static int open_handle(struct vn_fs *fs, const struct vn_real *r, int flags)
{
	int mfd = mount_fd(fs, r->mount_id), fd;

	if (mfd < 0)
		return -ENOTSUP; /* no anchor on that mount: go by name */
	fd = open_by_handle_at(mfd, r->handle, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int node_fd_depth(struct vn_fs *fs, struct vn_node *n, int depth);

static int layer_fd_depth(struct vn_fs *fs, struct vn_node *n, int layer,
			  bool *owned, int depth);

/* Reopen n's real object on layer as its name in its parent's directory
 * on that layer, and make sure it is still the same object: a name may
 * have been replaced behind our back. */
static int reopen_by_name(struct vn_fs *fs, struct vn_node *n,
			  const struct vn_real *r, int depth)
{
	char name[NAME_MAX + 1];
	struct vn_node *p;
	struct stat st;
	bool owned;
	int pfd, fd, err;

	p = vn_table_get_parent(&fs->table, n, name, sizeof(name));
	if (!p)
		return -ESTALE;
	pfd = layer_fd_depth(fs, p, r->layer, &owned, depth + 1);
	if (pfd < 0) {
		err = pfd == -ENOENT ? -ESTALE : pfd;
		goto out_put;
	}
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (owned)
		close(pfd);
	if (fd < 0) {
		err = errno == ENOENT ? -ESTALE : -errno;
		goto out_put;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != r->dev || st.st_ino != r->ino ||
	    (fs->nlayers == 1 && n->birth && vn_birth(fd) != n->birth)) {
		close(fd);
		err = -ESTALE;
		goto out_put;
	}
	err = fd;
out_put:
	vn_node_put(fs, p);
	return err;
}

/* Open n's real object r by handle, else by name. */
static int reopen_real(struct vn_fs *fs, struct vn_node *n,
		       const struct vn_real *r, int depth)
{
	int fd = -ENOTSUP;

	if (depth > VN_MAX_DEPTH)
		return -ELOOP;
	if (r->handle)
		fd = open_handle(fs, r, O_PATH);
	/* ESTALE from a handle means the object is gone: its name, if still
	 * there, is another object. Other errors (no capability) fall back. */
	if (fd < 0 && fd != -ESTALE)
		fd = reopen_by_name(fs, n, r, depth);
	return fd;
}

static int node_fd_depth(struct vn_fs *fs, struct vn_node *n, int depth)
{
	struct vn_garbage g = { .nfds = 0 };
	int fd = vn_table_fd(&fs->table, n);
	struct vn_real r;

	if (fd >= 0)
		return fd;
	vn_table_real(&fs->table, n, -1, &r);
	fd = reopen_real(fs, n, &r, depth);
	if (fd < 0)
		return fd;
	fd = vn_table_set_fd(&fs->table, n, fd, &g);
	vn_garbage_release(&g);
	return fd;
}

/* The root's directories are the layer roots themselves. */
#define VN_ROOT_ID 1

static int layer_fd_depth(struct vn_fs *fs, struct vn_node *n, int layer,
			  bool *owned, int depth)
{
	struct vn_real top, r;

	*owned = false;
	vn_table_real(&fs->table, n, -1, &top);
	if (top.layer == layer)
		return node_fd_depth(fs, n, depth);
	if (vn_table_real(&fs->table, n, layer, &r) < 0)
		return -ENOENT;
	if (n->nodeid == VN_ROOT_ID)
		return fs->layers[layer].fd;
	*owned = true;
	return reopen_real(fs, n, &r, depth);
}

int vn_node_layer_fd(struct vn_fs *fs, struct vn_node *n, int layer,
		     bool *owned)
{
	return layer_fd_depth(fs, n, layer, owned, 0);
}

int vn_node_fd(struct vn_fs *fs, struct vn_node *n)
{
	return node_fd_depth(fs, n, 0);
}

int vn_node_get_fd(struct vn_fs *fs, fuse_ino_t ino, struct vn_node **np,
		   int *fdp)
{
	struct vn_node *n = vn_node_get(fs, ino);
	int fd;

	*np = NULL;
	if (!n)
		return -ESTALE;
	fd = vn_node_fd(fs, n);
	if (fd < 0) {
		vn_node_put(fs, n);
		return fd;
	}
	*np = n;
	*fdp = fd;
	return 0;
}

uint64_t vn_parent_ino(struct vn_fs *fs, struct vn_node *n)
{
	char name[NAME_MAX + 1];
	struct vn_node *p = vn_table_get_parent(&fs->table, n, name,
						sizeof(name));
	uint64_t ino = p ? p->rino : n->rino;

	vn_node_put(fs, p);
	return ino;
}
