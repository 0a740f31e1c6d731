#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "idmap.h"
#include "log.h"

#define VN_MAX_GROUPS 256

static gid_t own_groups[VN_MAX_GROUPS];
static int own_ngroups;
static uid_t own_uid;
static gid_t own_gid;
static struct __user_cap_data_struct own_caps[_LINUX_CAPABILITY_U32S_3];
static bool have_caps;
static bool keep_caps;
static const struct vn_opts *maps;

/* Whether this thread has its own umask (see vn_umask_enter). */
static __thread int thread_fs_private;

static int thread_capset(const struct __user_cap_data_struct *data)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0, /* this thread only */
	};

	return (int)syscall(SYS_capset, &hdr, data);
}

void vn_creds_setup(bool keep, const struct vn_opts *o)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	own_uid = geteuid();
	own_gid = getegid();
	own_ngroups = getgroups(VN_MAX_GROUPS, own_groups);
	if (own_ngroups < 0)
		own_ngroups = 0;
	have_caps = syscall(SYS_capget, &hdr, own_caps) == 0;
	keep_caps = keep && have_caps;
	maps = o;
}

bool vn_creds_able(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	const uint32_t want = (1u << CAP_SETUID) | (1u << CAP_SETGID);

	if (syscall(SYS_capget, &hdr, d) < 0)
		return false;
	return (d[0].effective & want) == want;
}

/* glibc's setgroups() changes every thread; the raw call changes one. */
static long thread_setgroups(int n, const gid_t *list)
{
	return syscall(SYS_setgroups, (size_t)n, list);
}

/* A non-root caller has no capabilities. Changing the fsuid drops only the
 * filesystem ones; others still count for files (CAP_SYS_ADMIN shows
 * trusted.* xattrs), so the thread's effective set is emptied. */
static void drop_caps(void)
{
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (!have_caps)
		return;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		none[i] = own_caps[i];
		none[i].effective = 0;
	}
	if (thread_capset(none) < 0)
		vn_err("cannot drop capabilities: errno %d", errno);
}

int vn_creds_enter(bool enabled, fuse_req_t req, struct vn_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[VN_MAX_GROUPS];
	int n;

	uid_t uid = vn_idmap_out(maps->uidmap, maps->nuidmap, ctx->uid);
	gid_t gid = vn_idmap_out(maps->gidmap, maps->ngidmap, ctx->gid);

	c->active = false;
	c->dropped = false;
	c->kept = false;
	if (!enabled || (uid == own_uid && gid == own_gid))
		return 0;
	if (keep_caps) {
		c->active = true;
		c->kept = true;
		syscall(SYS_setfsgid, gid);
		syscall(SYS_setfsuid, uid);
		/* Changing the fsuid from 0 cleared the file capabilities. */
		if (thread_capset(own_caps) < 0)
			vn_err("cannot keep capabilities: errno %d", errno);
		return 0;
	}
	if (ctx->uid != 0) {
		n = fuse_req_getgroups(req, VN_MAX_GROUPS, groups);
		if (n < 0)
			n = 0; /* the caller is gone or /proc is hidden */
		if (n > VN_MAX_GROUPS)
			n = VN_MAX_GROUPS;
		if (thread_setgroups(n, groups) < 0)
			return -errno;
	}
	c->active = true;
	syscall(SYS_setfsgid, gid);
	syscall(SYS_setfsuid, uid);
	if (uid != 0) {
		drop_caps();
		c->dropped = true;
	}
	return 0;
}

bool vn_creds_in_group(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[VN_MAX_GROUPS];
	int n, i;

	if (vn_idmap_out(maps->gidmap, maps->ngidmap, ctx->gid) == gid)
		return true;
	n = fuse_req_getgroups(req, VN_MAX_GROUPS, groups);
	for (i = 0; i < n && i < VN_MAX_GROUPS; i++)
		if (vn_idmap_out(maps->gidmap, maps->ngidmap, groups[i]) == gid)
			return true;
	return false;
}

void vn_creds_leave(struct vn_creds *c)
{
	if (!c->active)
		return;
	if (c->kept) {
		syscall(SYS_setfsuid, own_uid);
		syscall(SYS_setfsgid, own_gid);
		c->active = c->kept = false;
		return;
	}
	/* Capabilities first: restoring the groups needs CAP_SETGID. */
	if (c->dropped && thread_capset(own_caps) < 0)
		vn_err("cannot restore capabilities: errno %d", errno);
	syscall(SYS_setfsuid, own_uid);
	syscall(SYS_setfsgid, own_gid);
	if (thread_setgroups(own_ngroups, own_groups) < 0)
		vn_err("cannot restore supplementary groups: errno %d", errno);
	c->active = false;
	c->dropped = false;
}

void vn_umask_enter(fuse_req_t req, mode_t *mode, struct vn_umask *u)
{
	mode_t mask = fuse_req_ctx(req)->umask;

	u->set = false;
	if (!thread_fs_private)
		thread_fs_private = unshare(CLONE_FS) == 0 ? 1 : -1;
	if (thread_fs_private < 0) {
		*mode &= ~mask; /* no per-thread umask: mask here */
		return;
	}
	u->saved = umask(mask);
	u->set = true;
}

void vn_umask_leave(struct vn_umask *u)
{
	if (u->set)
		umask(u->saved);
	u->set = false;
}
