/* Whiteouts and opaque directories, in both on-disk formats: the kernel's
 * (a 0/0 character device; an "opaque" xattr) and the one image layers use
 * (".wh.NAME" files; a ".wh..wh..opq" file in the directory). */
#ifndef VN_WHITEOUT_H
#define VN_WHITEOUT_H

#include <stdbool.h>
#include <sys/stat.h>

#define VN_WH_PREFIX ".wh."
#define VN_WH_OPAQUE ".wh..wh..opq"

struct vn_fs;

/* Pure name logic (unit tested). */
/* Is name one of the whiteout format's own files (".wh.*")? Such names
 * are never shown on the mount. */
bool vn_wh_reserved(const char *name);
/* The name a ".wh.NAME" file hides, or NULL if name is not one (the
 * opaque marker hides no name). */
const char *vn_wh_hidden(const char *name);
/* Is st a whiteout device? */
bool vn_wh_is_dev(const struct stat *st);

/* On disk. dirfd is an O_PATH fd of a real directory. */
enum vn_wh { VN_WH_NONE, VN_WH_DEV, VN_WH_FILE };
/* Does a whiteout for name stand in dirfd? A 0/0 device at name, or a
 * ".wh.name" file. */
enum vn_wh vn_wh_find(int dirfd, const char *name);
/* Is the directory open as fd opaque (xattr, or the marker file)? */
bool vn_wh_opaque(struct vn_fs *fs, int fd);
/* Make a whiteout for name in dirfd, in the mount's format. Returns 0 or
 * -errno. */
int vn_wh_make(struct vn_fs *fs, int dirfd, const char *name);
/* Remove the whiteout kind found for name in dirfd. Returns 0 or -errno. */
int vn_wh_remove(int dirfd, const char *name, enum vn_wh kind);
/* Mark the directory open as fd (O_PATH) opaque. Returns 0 or -errno. */
int vn_wh_set_opaque(struct vn_fs *fs, int fd);

#endif
