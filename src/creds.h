/* Per-request credentials: when the daemon runs as root, each request is
 * carried out with the caller's fsuid, fsgid and supplementary groups so
 * that the source filesystem applies its own permission rules and new
 * files get the caller's ownership. Changes are thread-local (raw
 * syscalls, not glibc's process-wide setgroups). */
#ifndef VN_CREDS_H
#define VN_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

struct vn_creds {
	bool active;
	bool dropped;	/* effective capabilities cleared */
	bool kept;	/* only fsuid and fsgid changed (overlay mode) */
};

struct vn_umask {
	bool set;
	mode_t saved;
};

#include "options.h"

/* Remember the daemon's own supplementary groups; call once at start.
 * In overlay mode (keep_caps) a request takes only the caller's fsuid and
 * fsgid, mapped to disk ids by o's id maps: new objects get the caller's
 * ownership, while permission checks, already made by the kernel
 * (default_permissions), are not made again with the daemon's own layer
 * bookkeeping (whiteouts, the work dir) in the way, as in the kernel's
 * overlayfs, which acts with the mounter's credentials. */
void vn_creds_setup(bool keep_caps, const struct vn_opts *o);

/* Can this process take a caller's ids (CAP_SETUID and CAP_SETGID in its
 * effective set)? */
bool vn_creds_able(void);

/* Act as the caller of req if enabled. Resolve node fds before calling
 * this: reopening by file handle needs the daemon's capabilities.
 * Returns 0 or -errno (then nothing was changed). */
int vn_creds_enter(bool enabled, fuse_req_t req, struct vn_creds *c);

/* Return to the daemon's own credentials. */
void vn_creds_leave(struct vn_creds *c);

/* Is the caller of req in group gid (a disk id), as its fsgid or a
 * supplementary group? */
bool vn_creds_in_group(fuse_req_t req, gid_t gid);

/* Apply the caller's umask (sent by the kernel with FUSE_CAP_DONT_MASK) to
 * a creating call. The calling thread gets its own umask (unshare of
 * CLONE_FS, once per thread) set to the caller's, so that SOURCE's
 * filesystem applies it, or a default ACL of the parent instead, exactly as
 * for a local caller. Where that is impossible, *mode is masked here. */
void vn_umask_enter(fuse_req_t req, mode_t *mode, struct vn_umask *u);
void vn_umask_leave(struct vn_umask *u);

#endif
