/* Whiteouts and opaque directories: see whiteout.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "veneer.h"
#include "whiteout.h"

/* ".wh." + name, or -ENAMETOOLONG. */
static int wh_name(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, VN_WH_PREFIX "%s", name);

	return n < 0 || (size_t)n >= size || n > NAME_MAX ? -ENAMETOOLONG : 0;
}

enum vn_wh vn_wh_find(int dirfd, const char *name)
{
	char wh[NAME_MAX + 8];
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return vn_wh_is_dev(&st) ? VN_WH_DEV : VN_WH_NONE;
	if (wh_name(wh, sizeof(wh), name) == 0 &&
	    faccessat(dirfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return VN_WH_FILE;
	return VN_WH_NONE;
}

bool vn_wh_opaque(struct vn_fs *fs, int fd)
{
	char path[32], attr[64], val[2];
	ssize_t len;

	snprintf(attr, sizeof(attr), "%sopaque", fs->xprefix);
	vn_proc_path(fd, path, sizeof(path));
	len = getxattr(path, attr, val, sizeof(val));
	if (len == 1 && val[0] == 'y')
		return true;
	return faccessat(fd, VN_WH_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int vn_wh_make(struct vn_fs *fs, int dirfd, const char *name)
{
	char wh[NAME_MAX + 8];
	int fd, err;

	if (fs->wh_dev)
		return mknodat(dirfd, name, S_IFCHR, makedev(0, 0)) < 0 ? -errno
									 : 0;
	err = wh_name(wh, sizeof(wh), name);
	if (err)
		return err;
	fd = openat(dirfd, wh, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

int vn_wh_remove(int dirfd, const char *name, enum vn_wh kind)
{
	char wh[NAME_MAX + 8];
	int err;

	if (kind == VN_WH_NONE)
		return 0;
	if (kind == VN_WH_DEV)
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	err = wh_name(wh, sizeof(wh), name);
	if (!err && unlinkat(dirfd, wh, 0) < 0)
		err = -errno;
	return err;
}

int vn_wh_set_opaque(struct vn_fs *fs, int fd)
{
	char path[32], attr[64];
	int mfd;

	snprintf(attr, sizeof(attr), "%sopaque", fs->xprefix);
	vn_proc_path(fd, path, sizeof(path));
	if (setxattr(path, attr, "y", 1, 0) == 0)
		return 0;
	if (errno != EPERM && errno != ENOTSUP)
		return -errno;
	/* No xattrs here: the marker file says the same. */
	mfd = openat(fd, VN_WH_OPAQUE, O_WRONLY | O_CREAT | O_CLOEXEC, 0);
	if (mfd < 0)
		return -errno;
	close(mfd);
	return 0;
}
