/* OPENDIR READDIR READDIRPLUS RELEASEDIR FSYNCDIR.
 *
 * A handle is a DIR stream on the real directory. Offsets are the real
 * directory's d_off cookies, so telldir/seekdir on the mount behave as on
 * the source. READDIRPLUS counts one lookup per entry it returns, and
 * takes back the count of an entry that did not fit in the buffer.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "veneer.h"

struct vn_dir {
	DIR *dp;		/* the top layer's directory */
	struct vn_node *node;	/* held open by this handle */
	off_t offset;		/* where dp stands */
	struct dirent *entry;	/* read but not yet returned, or NULL */
	/* Overlay mode: a snapshot of the merged listing, taken when the
	 * directory is read from its start. Offset 1 is ".", 2 is "..",
	 * and i + 3 is entry i. */
	struct vn_list list;
	bool listed;
	pthread_mutex_t lock;	/* the snapshot, against parallel reads */
};

#define VN_FIRST_ENTRY 3

/* The nodes a READDIRPLUS reply counted a lookup for, so that the counts
 * can be taken back if the reply cannot be delivered. */
struct plus_ids {
	uint64_t *ids;
	size_t n, cap;
};

static void plus_note(struct plus_ids *p, uint64_t ino)
{
	if (p && p->n < p->cap)
		p->ids[p->n++] = ino;
}

/* The smallest READDIRPLUS entry the kernel takes: an entry_out (128
 * bytes) and a dirent header (24) with a name, 8-byte aligned. */
#define VN_MIN_PLUS_ENTRY 160

static struct vn_dir *get_dir(struct fuse_file_info *fi)
{
	return (struct vn_dir *)(uintptr_t)fi->fh;
}

static int do_opendir(struct vn_fs *fs, fuse_req_t req, int fd,
		      struct vn_dir *d)
{
	struct vn_creds c;
	int dfd, err;

	err = vn_creds_enter(fs->switch_creds, req, &c);
	if (err)
		return err;
	dfd = vn_reopen_data(fs, fd, O_RDONLY | O_DIRECTORY);
	vn_creds_leave(&c);
	if (dfd < 0)
		return dfd;
	d->dp = fdopendir(dfd);
	if (!d->dp) {
		err = -errno;
		close(dfd);
		return err;
	}
	return 0;
}

static void release_dir(struct vn_fs *fs, struct vn_dir *d)
{
	struct vn_garbage g = { .nfds = 0 };

	closedir(d->dp);
	vn_list_free(&d->list);
	pthread_mutex_destroy(&d->lock);
	vn_table_open(&fs->table, d->node, -1, &g);
	vn_garbage_release(&g);
	free(d);
}

void vn_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_garbage g = { .nfds = 0 };
	struct vn_dir *d;
	struct vn_node *n;
	int fd, err;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	err = vn_node_get_fd(fs, ino, &n, &fd);
	if (err)
		goto out_free;
	err = do_opendir(fs, req, fd, d);
	if (err) {
		vn_node_put(fs, n);
		goto out_free;
	}
	d->node = n;
	vn_table_open(&fs->table, n, +1, &g);
	vn_node_put(fs, n);
	vn_garbage_release(&g);
	fi->fh = (uintptr_t)d;
	/* The kernel may keep the listing it read (as file pages are kept,
	 * see set_cache_flags in file.c); it drops it when it sees the
	 * directory's mtime change. */
	if (fs->opts->cache == VN_CACHE_ALWAYS) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	} else if (fs->opts->cache == VN_CACHE_AUTO) {
		fi->cache_readdir = 1;
		fi->keep_cache = vn_node_keep_cache(fs, n, dirfd(d->dp));
	}
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nobody will release this. */
		release_dir(fs, d);
	}
	return;
out_free:
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, -err);
}

/* Add the entry d->entry to buf for READDIRPLUS, looking it up.
 * Returns the bytes used, 0 if it did not fit, or -errno. */
static int add_plus(fuse_req_t req, struct vn_dir *d, char *buf, size_t rem,
		    struct plus_ids *ids)
{
	struct vn_fs *fs = vn_fs(req);
	const char *name = d->entry->d_name;
	struct vn_garbage g = { .nfds = 0 };
	struct fuse_entry_param e;
	size_t used;
	int err;

	err = -EACCES;
	if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
		err = vn_lookup_entry(fs, req, d->node, dirfd(d->dp), name, &e);
	if (err == -EACCES) {
		/* No node and no lookup count: the kernel links no entry and
		 * looks the name up itself if it is used (for "." and "..",
		 * or a name the caller may not search). */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->entry->d_ino;
		e.attr.st_mode = (mode_t)d->entry->d_type << 12;
		used = fuse_add_direntry_plus(req, buf, rem, name, &e,
					      d->entry->d_off);
		return used > rem ? 0 : (int)used;
	}
	if (err)
		return err;
	used = fuse_add_direntry_plus(req, buf, rem, name, &e,
				      d->entry->d_off);
	if (used > rem) {
		vn_table_forget(&fs->table, e.ino, 1, &g);
		vn_garbage_release(&g);
		return 0;
	}
	plus_note(ids, e.ino);
	return (int)used;
}

static int add_plain(fuse_req_t req, struct vn_dir *d, char *buf, size_t rem)
{
	struct stat st = {
		.st_ino = d->entry->d_ino,
		.st_mode = (mode_t)d->entry->d_type << 12,
	};
	size_t used = fuse_add_direntry(req, buf, rem, d->entry->d_name, &st,
					d->entry->d_off);

	return used > rem ? 0 : (int)used;
}

/* One entry of the merged snapshot (or "." or ".."), at offset off. */
static int add_merged(fuse_req_t req, struct vn_dir *d, off_t off, char *buf,
		      size_t rem, struct plus_ids *ids)
{
	bool plus = ids != NULL;
	struct vn_fs *fs = vn_fs(req);
	struct vn_garbage g = { .nfds = 0 };
	struct fuse_entry_param e;
	const char *name;
	size_t used;
	int err = -EACCES;

	memset(&e, 0, sizeof(e));
	if (off < VN_FIRST_ENTRY) {
		name = off == 1 ? "." : "..";
		e.attr.st_mode = S_IFDIR;
		e.attr.st_ino = off == 1 ? d->node->rino : vn_parent_ino(fs, d->node);
	} else {
		const struct vn_list_entry *le =
			&d->list.e[off - VN_FIRST_ENTRY];

		name = le->name;
		e.attr.st_ino = le->ino;
		e.attr.st_mode = (mode_t)le->type << 12;
		if (plus)
			err = vn_lookup_entry(fs, req, d->node, -1, name, &e);
		if (err && err != -EACCES)
			return err;
	}
	if (!plus) {
		used = fuse_add_direntry(req, buf, rem, name, &e.attr, off + 1);
		return used > rem ? 0 : (int)used;
	}
	/* With err, no node: the kernel looks the name up when used. */
	used = fuse_add_direntry_plus(req, buf, rem, name, &e, off + 1);
	if (used > rem) {
		if (!err) {
			vn_table_forget(&fs->table, e.ino, 1, &g);
			vn_garbage_release(&g);
		}
		return 0;
	}
	if (!err)
		plus_note(ids, e.ino);
	return (int)used;
}

/* Fill buf from the merged snapshot. Returns the bytes used; *err is set
 * on an error. */
static size_t fill_merged(fuse_req_t req, struct vn_dir *d, off_t off,
			  char *buf, size_t size, struct plus_ids *ids,
			  int *err)
{
	size_t rem = size;
	int used;

	pthread_mutex_lock(&d->lock);
	if (off == 0 || !d->listed) {
		/* From the start (rewinddir too): a fresh snapshot. */
		vn_list_free(&d->list);
		d->listed = false;
		*err = vn_list_build(vn_fs(req), d->node, &d->list);
		d->listed = !*err;
	}
	for (off = off ? off : 1;
	     !*err && off < (off_t)(d->list.count + VN_FIRST_ENTRY); off++) {
		used = add_merged(req, d, off, buf + (size - rem), rem, ids);
		if (used == -ENOENT)
			continue; /* removed since the snapshot */
		if (used < 0)
			*err = used;
		if (used <= 0)
			break;
		rem -= (size_t)used;
	}
	pthread_mutex_unlock(&d->lock);
	return size - rem;
}

/* Fill buf from the directory stream of a passthrough mount. */
static size_t fill_stream(fuse_req_t req, struct vn_dir *d, off_t off,
			  char *buf, size_t size, struct plus_ids *ids,
			  int *err)
{
	size_t rem = size;
	int used;

	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		char *p = buf + (size - rem);

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				*err = -errno;
				break;
			}
		}
		used = ids ? add_plus(req, d, p, rem, ids)
			   : add_plain(req, d, p, rem);
		if (used == -ENOENT) {
			used = 0; /* removed since it was read: skip it */
		} else if (used < 0) {
			*err = used;
			break;
		} else if (used == 0) {
			break; /* full: this entry goes first next time */
		}
		rem -= (size_t)used;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	return size - rem;
}

static void do_readdir(fuse_req_t req, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_garbage g = { .nfds = 0 };
	struct plus_ids ids = { .ids = NULL };
	struct vn_dir *d = get_dir(fi);
	char *buf;
	size_t len, i;
	int err = 0;

	size = vn_read_size(req, size);
	buf = calloc(1, size ? size : 1);
	ids.cap = plus ? size / VN_MIN_PLUS_ENTRY + 1 : 0;
	ids.ids = plus ? calloc(ids.cap, sizeof(*ids.ids)) : NULL;
	if (!buf || (plus && !ids.ids)) {
		free(buf);
		free(ids.ids);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fs->overlay)
		len = fill_merged(req, d, off, buf, size, plus ? &ids : NULL,
				  &err);
	else
		len = fill_stream(req, d, off, buf, size, plus ? &ids : NULL,
				  &err);
	/* An error counts only if nothing could be returned. */
	if (err && len == 0)
		fuse_reply_err(req, -err);
	else if (fuse_reply_buf(req, buf, len) == -ENOENT)
		for (i = 0; i < ids.n; i++) {
			vn_table_forget(&fs->table, ids.ids[i], 1, &g);
			vn_garbage_release(&g);
		}
	free(ids.ids);
	free(buf);
}

void vn_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, false);
}

void vn_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, true);
}

void vn_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	release_dir(vn_fs(req), get_dir(fi));
	fuse_reply_err(req, 0);
}

void vn_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	struct vn_dir *d = get_dir(fi);
	int fd = dirfd(d->dp), err;

	if (vn_fs(req)->nosync) {
		fuse_reply_err(req, 0);
		return;
	}
	err = datasync ? fdatasync(fd) : fsync(fd);
	fuse_reply_err(req, err < 0 ? errno : 0);
}
