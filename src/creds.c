#include "config.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"

#define VN_MAX_GROUPS 256

static gid_t own_groups[VN_MAX_GROUPS];
static int own_ngroups;
static uid_t own_uid;
static gid_t own_gid;

void vn_creds_setup(void)
{
	own_uid = geteuid();
	own_gid = getegid();
	own_ngroups = getgroups(VN_MAX_GROUPS, own_groups);
	if (own_ngroups < 0)
		own_ngroups = 0;
}

/* glibc's setgroups() changes every thread; the raw call changes one. */
static long thread_setgroups(int n, const gid_t *list)
{
	return syscall(SYS_setgroups, (size_t)n, list);
}

int vn_creds_enter(bool enabled, fuse_req_t req, struct vn_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[VN_MAX_GROUPS];
	int n;

	c->active = false;
	if (!enabled || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
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
	syscall(SYS_setfsgid, ctx->gid);
	syscall(SYS_setfsuid, ctx->uid);
	return 0;
}

void vn_creds_leave(struct vn_creds *c)
{
	if (!c->active)
		return;
	syscall(SYS_setfsuid, own_uid);
	syscall(SYS_setfsgid, own_gid);
	if (thread_setgroups(own_ngroups, own_groups) < 0)
		vn_err("cannot restore supplementary groups: errno %d", errno);
	c->active = false;
}
