/* Pure predicates on xattr names: which are overlay's own, which hold
 * the owner override, which a copy-up must keep. No libfuse, no syscalls:
 * tests/unit links this file directly. */
#ifndef VN_XATTR_NAME_H
#define VN_XATTR_NAME_H

#include <stdbool.h>

/* Is name one of overlay's own xattrs (it starts with prefix,
 * "trusted.overlay." or "user.overlay.")? Never shown, never copied. */
bool vn_xname_private(const char *prefix, const char *name);

/* The xattr that xattr_permissions=mode keeps owner and mode in, as
 * "UID:GID:MODE[:TYPE]": NULL for 0, else the name fuse-overlayfs uses
 * (1: security.fuseoverlayfs.override_stat, 2:
 * user.containers.override_stat). */
const char *vn_xname_override(int mode);

/* Must a copy-up copy name, or fail, whatever the upper filesystem says?
 * The ACLs and security.capability: what the file may do and who may use
 * it. */
bool vn_xname_must_copy(const char *name);

#endif
