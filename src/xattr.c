/* GETXATTR SETXATTR LISTXATTR REMOVEXATTR, done as the caller through
 * /proc/self/fd (O_PATH fds do not take f*xattr calls). The magic link
 * resolves to the object itself, a symlink included. */
#include "config.h"

#include <errno.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "creds.h"
#include "veneer.h"
#include "xattr_name.h"

bool vn_private_xattr(struct vn_fs *fs, const char *name)
{
	return vn_xname_private(fs->xprefix, name);
}

/* Shown on the mount? Overlay's own and the owner override are not. */
bool vn_hidden_xattr(struct vn_fs *fs, const char *name)
{
	return vn_private_xattr(fs, name) || vn_override_xattr(fs, name);
}

/* The xattr call to make, and its result. */
struct vn_xattr_req {
	enum { X_GET, X_LIST, X_SET, X_REMOVE } op;
	const char *name;
	const char *value;	/* X_SET */
	char *buf;		/* X_GET, X_LIST: size bytes, or NULL */
	size_t size;
	int flags;		/* X_SET */
	ssize_t result;
};

static int run_xattr(const char *path, struct vn_xattr_req *x)
{
	switch (x->op) {
	case X_GET:
		x->result = getxattr(path, x->name, x->buf, x->size);
		break;
	case X_LIST:
		x->result = listxattr(path, x->buf, x->size);
		break;
	case X_SET:
		x->result = setxattr(path, x->name, x->value, x->size,
				     x->flags);
		break;
	case X_REMOVE:
		x->result = removexattr(path, x->name);
		break;
	}
	return x->result < 0 ? -errno : 0;
}

/* Take overlay's own names out of a LIST result. Their size counts in a
 * size query, so the list is read once here to answer it exactly. */
static int hide_private(struct vn_fs *fs, fuse_req_t req, const char *path,
			struct vn_xattr_req *x)
{
	/* The daemon lists with its own capabilities kept: trusted.* names
	 * are not for other callers' eyes. */
	bool trusted_ok = fuse_req_ctx(req)->uid == 0;
	char *list = x->buf, *p, *out;
	ssize_t len = x->result;

	if (!x->size) {
		list = malloc((size_t)len + 1);
		if (!list)
			return -ENOMEM;
		len = listxattr(path, list, (size_t)len);
		if (len < 0) {
			free(list);
			return errno == ERANGE ? -EAGAIN : -errno;
		}
	}
	for (p = out = list; p < list + len; p += strlen(p) + 1) {
		size_t l = strlen(p) + 1;

		if (vn_hidden_xattr(fs, p) ||
		    (!trusted_ok && strncmp(p, "trusted.", 8) == 0) ||
		    (fs->opts->noacl &&
		     strncmp(p, "system.posix_acl_", 17) == 0))
			continue;
		memmove(out, p, l);
		out += l;
	}
	x->result = out - list;
	if (!x->size)
		free(list);
	return 0;
}

/* The kernel removes security.capability when a file is written,
 * truncated or given a new owner (its killpriv), with a REMOVEXATTR made
 * as the writer, who may well lack CAP_SETFCAP. A removal that comes from
 * the caller itself is refused by the kernel before it reaches FUSE unless
 * the caller has CAP_SETFCAP: every one that arrives is allowed, and is
 * made with the daemon's credentials, as the real filesystem's kernel
 * makes its own. */
static bool kill_priv(const struct vn_xattr_req *x)
{
	return x->op == X_REMOVE && strcmp(x->name, "security.capability") == 0;
}

static int do_xattr(fuse_req_t req, fuse_ino_t ino, struct vn_xattr_req *x)
{
	struct vn_fs *fs = vn_fs(req);
	struct vn_creds c;
	struct vn_node *n;
	char path[32];
	int fd, err;

	if (fs->opts->noxattr)
		return -ENOSYS; /* the kernel stops asking */
	if (x->name && fs->overlay && fs->opts->noacl &&
	    strncmp(x->name, "system.posix_acl_", 17) == 0)
		return -EOPNOTSUPP;
	/* Overlay's own: not there, as far as the mount shows. */
	if (x->name && fs->overlay && vn_hidden_xattr(fs, x->name))
		return x->op == X_SET ? -EPERM : -ENODATA;
	n = vn_node_get(fs, ino);
	if (!n)
		return -ESTALE;
	/* Removing what a lower object does not have copies nothing up: it
	 * fails as it would there, as on the kernel's overlayfs. */
	if (x->op == X_REMOVE && fs->overlay && !vn_node_is_upper(fs, n)) {
		fd = vn_node_fd(fs, n);
		vn_proc_path(fd, path, sizeof(path));
		if (fd >= 0 && getxattr(path, x->name, NULL, 0) < 0) {
			err = -errno;
			vn_node_put(fs, n);
			return err;
		}
	}
	err = x->op == X_SET || x->op == X_REMOVE ? vn_copy_up(fs, n, true) : 0;
	fd = err ? err : vn_node_fd(fs, n);
	if (fd < 0) {
		vn_node_put(fs, n);
		return fd;
	}
	vn_proc_path(fd, path, sizeof(path));
	err = vn_creds_enter(fs->switch_creds && !kill_priv(x), req, &c);
	if (!err) {
		err = run_xattr(path, x);
		vn_creds_leave(&c);
	}
	if (!err && x->op == X_LIST && fs->overlay)
		err = hide_private(fs, req, path, x);
	vn_node_put(fs, n);
	return err;
}

/* Reply to GET or LIST: the size alone when size is 0, else the data. */
static void reply_sized(fuse_req_t req, fuse_ino_t ino,
			struct vn_xattr_req *x)
{
	int err;

	/* The VFS cuts a caller's buffer to these sizes too. */
	if (x->op == X_GET && x->size > XATTR_SIZE_MAX)
		x->size = XATTR_SIZE_MAX;
	if (x->op == X_LIST && x->size > XATTR_LIST_MAX)
		x->size = XATTR_LIST_MAX;
	if (x->size) {
		x->buf = malloc(x->size);
		if (!x->buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	err = do_xattr(req, ino, x);
	if (err)
		fuse_reply_err(req, -err);
	else if (x->size)
		fuse_reply_buf(req, x->buf, (size_t)x->result);
	else
		fuse_reply_xattr(req, (size_t)x->result);
	free(x->buf);
}

void vn_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size)
{
	struct vn_xattr_req x = { .op = X_GET, .name = name, .size = size };

	reply_sized(req, ino, &x);
}

void vn_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct vn_xattr_req x = { .op = X_LIST, .size = size };

	reply_sized(req, ino, &x);
}

void vn_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags)
{
	struct vn_xattr_req x = { .op = X_SET, .name = name, .value = value,
				  .size = size, .flags = flags };

	fuse_reply_err(req, -do_xattr(req, ino, &x));
}

void vn_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct vn_xattr_req x = { .op = X_REMOVE, .name = name };

	fuse_reply_err(req, -do_xattr(req, ino, &x));
}
