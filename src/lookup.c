/* LOOKUP, FORGET and BATCH_FORGET: names to nodes, and the kernel's lookup
 * counts. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"
#include "whiteout.h"

int vn_check_name(const char *name)
{
	if (strchr(name, '/'))
		return -EINVAL;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
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

void vn_found_free(struct vn_found *f)
{
	int i;

	if (f->fd >= 0)
		close(f->fd);
	for (i = 0; i < f->nlower; i++)
		free(f->lower[i].handle);
	free(f->lower);
	f->fd = -1;
	f->lower = NULL;
	f->nlower = 0;
}

/* Record the directory open as fd on layer beneath the one found. */
static int add_lower(struct vn_fs *fs, struct vn_found *f, int layer, int fd,
		     const struct stat *st)
{
	struct vn_real *r;

	if (!f->lower) {
		f->lower = calloc((size_t)fs->nlayers, sizeof(*f->lower));
		if (!f->lower)
			return -ENOMEM;
	}
	r = &f->lower[f->nlower++];
	r->layer = layer;
	r->dev = st->st_dev;
	r->ino = st->st_ino;
	r->mount_id = -1;
	r->handle = vn_get_handle(fs, fd, &r->mount_id);
	if (r->handle)
		vn_mount_note(fs, r->mount_id, fd);
	return 0;
}

/* One layer of the walk: look name up in dfd. Returns 1 to go on to the
 * next layer, 0 to stop, or -errno. */
static int walk_layer(struct vn_fs *fs, fuse_req_t req, int layer, int dfd,
		      bool last, const char *name, struct vn_found *f)
{
	struct stat st;
	int fd, err;

	fd = open_child(fs, req, dfd, name);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		/* Absent here; a ".wh." file may still hide lower layers. */
		return fs->overlay && vn_wh_find(dfd, name) == VN_WH_FILE ? 0
									   : 1;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (fs->overlay && vn_wh_is_dev(&st)) {
		close(fd);
		return 0;
	}
	if (f->fd < 0) {
		f->fd = fd;
		f->st = st;
		f->layer = layer;
		/* A non-directory, or an opaque one, hides what is below. */
		return S_ISDIR(st.st_mode) && !last && !vn_wh_opaque(fs, fd);
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd); /* a non-directory below a directory ends it */
		return 0;
	}
	err = add_lower(fs, f, layer, fd, &st);
	if (!err)
		err = !last && !vn_wh_opaque(fs, fd);
	close(fd);
	return err;
}

static int walk(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
		const char *name, int start, struct vn_found *f)
{
	int *layers, nl, i, err = 0;

	f->fd = -1;
	f->lower = NULL;
	f->nlower = 0;
	if (fs->overlay && vn_wh_reserved(name))
		return -ENOENT; /* the whiteout format's own names */
	layers = malloc((size_t)fs->nlayers * sizeof(*layers));
	if (!layers)
		return -ENOMEM;
	nl = vn_table_layers(&fs->table, dir, layers, fs->nlayers);
	for (i = start; i < nl; i++) {
		bool owned;
		int dfd = vn_node_layer_fd(fs, dir, layers[i], &owned);

		if (dfd < 0) {
			err = dfd;
			break;
		}
		err = walk_layer(fs, req, layers[i], dfd, i == nl - 1, name, f);
		if (owned)
			close(dfd);
		if (err <= 0)
			break;
		err = 0;
	}
	free(layers);
	if (err < 0) {
		vn_found_free(f);
		return err;
	}
	return f->fd < 0 ? -ENOENT : 0;
}

int vn_walk(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
	    const char *name, struct vn_found *f)
{
	return walk(fs, req, dir, name, 0, f);
}

int vn_walk_from(struct vn_fs *fs, struct vn_node *dir, const char *name,
		 int start, struct vn_found *f)
{
	return walk(fs, NULL, dir, name, start, f);
}

int vn_lookup_entry(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
		    int dirfd, const char *name, struct fuse_entry_param *e)
{
	struct vn_found f;
	int fd, err;

	/* ".." of the root would leave the source: it is the root itself. */
	if (strcmp(name, "..") == 0 && dir->nodeid == FUSE_ROOT_ID)
		name = ".";
	if (fs->overlay) {
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return -EINVAL; /* the kernel resolves these itself
					 * (no export support is offered) */
		err = vn_walk(fs, req, dir, name, &f);
		if (err)
			return err;
		err = vn_entry_from_found(fs, dir, name, &f, e);
		vn_found_free(&f);
		return err;
	}
	fd = open_child(fs, req, dirfd, name);
	if (fd < 0)
		return fd;
	return vn_entry_from_fd(fs, dir, name, fd, e);
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

	if (fs->use_handles || fs->overlay || cached < 0 ||
	    found->st_nlink == 0 ||
	    fstat(cached, &st) < 0 || st.st_nlink > 0)
		return n;
	vn_table_gone(&fs->table, key->dev, key->ino);
	vn_table_forget(&fs->table, n->nodeid, 1, &g);
	vn_table_put(&fs->table, n, &g);
	vn_garbage_release(&g);
	return vn_table_enter(&fs->table, dir, name, key);
}

/* A key part for one name of an object: never 0. */
static uint64_t name_alias(struct vn_node *dir, const char *name)
{
	uint64_t h = dir->nodeid * 0x9e3779b97f4a7c15ULL;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 0x100000001b3ULL;
	return h | 1;
}

int vn_entry_from_found(struct vn_fs *fs, struct vn_node *dir,
			const char *name, struct vn_found *f,
			struct fuse_entry_param *e)
{
	struct vn_entry_key key = { .mount_id = -1 };
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *n;
	int fd = f->fd;

	memset(e, 0, sizeof(*e));
	e->attr = f->st;
	key.dev = f->st.st_dev;
	key.ino = f->st.st_ino;
	key.type = f->st.st_mode;
	key.layer = f->layer;
	/* Lower hard links are separate files on an overlay: copying one up
	 * leaves the others as they were (as the kernel's without index). */
	if (fs->overlay && !vn_layer_is_upper(fs, f->layer) &&
	    !S_ISDIR(f->st.st_mode) && f->st.st_nlink > 1)
		key.alias = name_alias(dir, name);
	key.handle = vn_get_handle(fs, fd, &key.mount_id);
	if (!key.handle)
		key.birth = vn_birth(fd);
	key.rino = vn_present_ino(fs, f->layer, fd, &f->st);
	key.lower = f->lower;
	key.nlower = f->nlower;
	f->lower = NULL;
	f->nlower = 0;
	f->fd = -1;
	/* A mount below the source is entered by its root directory. */
	if (key.handle && S_ISDIR(e->attr.st_mode))
		vn_mount_note(fs, key.mount_id, fd);
	n = vn_table_enter(&fs->table, dir, name, &key);
	if (n)
		n = drop_if_stale(fs, dir, name, n, &key, &e->attr);
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	/* The fd is likely needed next (open, getattr): cache it. */
	fd = vn_table_set_fd(&fs->table, n, fd, &g);
	vn_garbage_release(&g);
	e->ino = n->nodeid;
	vn_present(fs, n, fd, &e->attr);
	fill_timeouts(fs, e);
	vn_node_put(fs, n);
	return 0;
}

int vn_entry_from_fd(struct vn_fs *fs, struct vn_node *dir, const char *name,
		     int fd, struct fuse_entry_param *e)
{
	struct vn_found f = { .fd = fd };

	if (fstat(fd, &f.st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return vn_entry_from_found(fs, dir, name, &f, e);
}

void vn_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_garbage g = { .nfds = 0 };

	/* Not delivered (the connection is gone): the kernel holds no
	 * reference to forget later. */
	if (fuse_reply_entry(req, e) == -ENOENT && e->ino) {
		vn_table_forget(&fs->table, e->ino, 1, &g);
		vn_garbage_release(&g);
	}
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
		vn_reply_entry(req, &e);
}

static void forget_one(struct vn_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct vn_garbage g = { .nfds = 0 };

	if (vn_table_forget(&fs->table, ino, nlookup, &g) < 0)
		vn_debug("forget of unknown nodeid %llu",
			 (unsigned long long)ino);
	vn_garbage_release(&g);
}

/* Freed nodes go back to malloc, which keeps the pages. Once the kernel
 * has forgotten half of the most nodes seen here (and at least 4096), the
 * memory is handed back to the system (malloc_trim walks every arena, so
 * not more often than that). */
static void trim_after_forget(struct vn_fs *fs)
{
	size_t n = vn_table_count(&fs->table);
	size_t peak = __atomic_load_n(&fs->trim_peak, __ATOMIC_RELAXED);

	if (n > peak) {
		__atomic_store_n(&fs->trim_peak, n, __ATOMIC_RELAXED);
		return;
	}
	if (peak - n < 4096 || n > peak / 2)
		return;
	/* One thread trims; the others see the new, lower peak. */
	if (__atomic_compare_exchange_n(&fs->trim_peak, &peak, n, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		malloc_trim(0);
}

void vn_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(vn_fs(req), ino, nlookup);
	trim_after_forget(vn_fs(req));
	fuse_reply_none(req);
}

void vn_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets)
{
	struct vn_fs *fs = vn_fs(req);
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	trim_after_forget(fs);
	fuse_reply_none(req);
}
