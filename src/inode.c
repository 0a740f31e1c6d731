/* What a node stands for: the file handle and birth time that tell its
 * real object apart, the origin recorded on a copy-up, and the attributes
 * the mount shows for it (inode number, owner and mode after the
 * xattr_permissions override, id maps and squashing, link counts). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "idmap.h"
#include "log.h"
#include "veneer.h"
#include "xattr_name.h"

#define VN_ORIGIN_NAME "vn.ino"

/* The file handle of the object open as fd, or NULL where the filesystem
 * has none (the node then reopens by name). */
struct file_handle *vn_get_handle(struct vn_fs *fs, int fd, int *mount_id)
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

/* Birth time in ns of the object open as fd, 0 if the filesystem has
 * none: see veneer.h. */
uint64_t vn_birth(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BTIME,
		  &stx) < 0 || !(stx.stx_mask & STATX_BTIME))
		return 0;
	return (uint64_t)stx.stx_btime.tv_sec * 1000000000u +
	       stx.stx_btime.tv_nsec;
}

static void origin_attr(struct vn_fs *fs, char *buf, size_t size)
{
	snprintf(buf, size, "%s" VN_ORIGIN_NAME, fs->xprefix);
}

int vn_origin_at(struct vn_fs *fs, int fd, const char *name, uint64_t *ino)
{
	char path[PATH_MAX], attr[64], val[24];
	ssize_t len;
	char *end;

	origin_attr(fs, attr, sizeof(attr));
	if (name) {
		/* The entry itself, a symlink included: not followed. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", fd, name);
		len = lgetxattr(path, attr, val, sizeof(val) - 1);
	} else {
		vn_proc_path(fd, path, sizeof(path));
		len = getxattr(path, attr, val, sizeof(val) - 1);
	}
	if (len <= 0)
		return -ENODATA;
	val[len] = '\0';
	*ino = strtoull(val, &end, 10);
	return *end ? -EINVAL : 0;
}

/* Record the inode number the object had below, so that it keeps it. */
void vn_origin_set(struct vn_fs *fs, const char *path, uint64_t ino)
{
	char attr[64], val[24];

	origin_attr(fs, attr, sizeof(attr));
	snprintf(val, sizeof(val), "%" PRIu64, ino);
	if (setxattr(path, attr, val, strlen(val), 0) < 0)
		vn_debug("cannot record origin of %s: %s", path,
			 strerror(errno));
}

/* The inode number to present for a new node whose top object is open as
 * fd on layer: a copied-up object keeps the one it had below. */
uint64_t vn_present_ino(struct vn_fs *fs, int layer, int fd,
		       const struct stat *st)
{
	uint64_t ino;

	if (fs->overlay && vn_layer_is_upper(fs, layer) &&
	    vn_origin_at(fs, fd, NULL, &ino) == 0)
		return ino;
	return vn_layer_ino(fs, layer, st->st_ino);
}

uid_t vn_uid_to_disk(struct vn_fs *fs, uid_t uid)
{
	return vn_idmap_out(fs->opts->uidmap, fs->opts->nuidmap, uid);
}

gid_t vn_gid_to_disk(struct vn_fs *fs, gid_t gid)
{
	return vn_idmap_out(fs->opts->gidmap, fs->opts->ngidmap, gid);
}

/* xattr_permissions=: owner and mode kept in an xattr, as
 * "UID:GID:MODE[:TYPE]" (MODE in octal), where a rootless daemon cannot
 * store them on the file itself. */
const char *vn_override_name(struct vn_fs *fs)
{
	return vn_xname_override(fs->opts->xattr_permissions);
}

bool vn_override_xattr(struct vn_fs *fs, const char *name)
{
	const char *o = vn_override_name(fs);

	return o && strcmp(name, o) == 0;
}

int vn_override_get(struct vn_fs *fs, int fd, unsigned int *uid,
		    unsigned int *gid, unsigned int *mode)
{
	char path[32], val[64];
	ssize_t len;

	vn_proc_path(fd, path, sizeof(path));
	len = getxattr(path, vn_override_name(fs), val, sizeof(val) - 1);
	if (len < 0)
		return -errno;
	val[len] = '\0';
	if (sscanf(val, "%u:%u:%o", uid, gid, mode) != 3)
		return -EINVAL;
	return 0;
}

void vn_present(struct vn_fs *fs, struct vn_node *n, int fd, struct stat *st)
{
	const struct vn_opts *o = fs->opts;
	unsigned int uid, gid, mode;
	int layers[2];

	st->st_ino = __atomic_load_n(&n->rino, __ATOMIC_RELAXED);
	if (o->blksize)
		st->st_blksize = o->blksize;
	if (!fs->overlay)
		return;
	if (vn_override_name(fs) &&
	    (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) &&
	    vn_override_get(fs, fd, &uid, &gid, &mode) == 0) {
		st->st_uid = uid;
		st->st_gid = gid;
		st->st_mode = (st->st_mode & S_IFMT) | (mode & 07777);
	}
	/* The kernel's overlayfs reports one link for a merged directory:
	 * counting its entries would mean reading every layer. */
	if (S_ISDIR(st->st_mode) &&
	    (o->static_nlink ||
	     vn_table_layers(&fs->table, n, layers, 2) > 1))
		st->st_nlink = 1;
	st->st_uid = vn_idmap_in(o->uidmap, o->nuidmap, st->st_uid);
	st->st_gid = vn_idmap_in(o->gidmap, o->ngidmap, st->st_gid);
	if (o->squash_to_root)
		st->st_uid = st->st_gid = 0;
	if (o->squash_uid >= 0)
		st->st_uid = (uid_t)o->squash_uid;
	if (o->squash_gid >= 0)
		st->st_gid = (gid_t)o->squash_gid;
}
