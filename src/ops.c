/* The operation table, INIT, and the filesystem context. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "mnt.h"
#include "veneer.h"
#include "whiteout.h"

struct vn_fs *vn_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

size_t vn_read_size(fuse_req_t req, size_t size)
{
	size_t max = vn_fs(req)->max_read;

	return size < max ? size : max;
}

static void vn_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct vn_fs *fs = userdata;
	const unsigned want[] = {
		FUSE_CAP_FLOCK_LOCKS, FUSE_CAP_SPLICE_READ,
		FUSE_CAP_SPLICE_WRITE, FUSE_CAP_SPLICE_MOVE,
		/* The caller's umask arrives unapplied: SOURCE applies it,
		 * or a default ACL instead (see vn_umask_enter). */
		FUSE_CAP_DONT_MASK,
	};
	size_t i, page;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (conn->capable & want[i])
			conn->want |= want[i];
	/* With passthrough the daemon reads the kill flags of
	 * FUSE_HANDLE_KILLPRIV_V2 from each request as it comes in
	 * (transport.c), which a request spliced to a pipe bypasses; and
	 * WRITE, which splicing speeds up, is rare then. */
	if (fs->passthrough == VN_PT_WANTED && vn_transport_offers_passthrough())
		conn->want &= ~FUSE_CAP_SPLICE_READ;
	/* The kernel then evaluates ACLs (stored in SOURCE, which keeps
	 * modes in sync and inherits defaults) in its permission checks. It
	 * implies default_permissions, so only where that is on anyway. */
	if (fs->opts->default_permissions && !fs->opts->noxattr &&
	    !fs->opts->noacl &&
	    (conn->capable & FUSE_CAP_POSIX_ACL))
		conn->want |= FUSE_CAP_POSIX_ACL;
	if (fs->opts->writeback) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			vn_warn("the kernel has no writeback cache for FUSE");
	}
	/* POSIX locks stay with the kernel: forwarded, they would all be
	 * owned by this one process and exclude nothing. */
	conn->want &= ~FUSE_CAP_POSIX_LOCKS;
	/* In an overlay flock(2) locks stay with the kernel too, on the
	 * mount's inode, as on the kernel's overlayfs: forwarded to the real
	 * files, a lock taken before a copy-up would be on the lower file
	 * and not exclude one taken after it, on the upper. In passthrough
	 * mode they are forwarded, to exclude users of SOURCE itself. */
	if (fs->overlay)
		conn->want &= ~FUSE_CAP_FLOCK_LOCKS;
	/* Writes are done with the daemon's credentials, which would keep
	 * setuid bits a non-owner's write must clear: let the kernel ask for
	 * that with a SETATTR instead (see attr.c). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* libfuse tells the kernel max_pages from max_write (already
	 * bounded by its buffer), which bounds every READ and READDIR; a
	 * larger size cannot come from the kernel, and is cut to this. */
	page = (size_t)sysconf(_SC_PAGESIZE);
	fs->max_read = ((size_t)conn->max_write + page - 1) / page * page;
	if (conn->max_read && conn->max_read < fs->max_read)
		fs->max_read = conn->max_read;
}

const struct fuse_lowlevel_ops vn_ops = {
	.init = vn_op_init,
	.lookup = vn_op_lookup,
	.forget = vn_op_forget,
	.forget_multi = vn_op_forget_multi,
	.getattr = vn_op_getattr,
	.setattr = vn_op_setattr,
	.readlink = vn_op_readlink,
	.mknod = vn_op_mknod,
	.mkdir = vn_op_mkdir,
	.symlink = vn_op_symlink,
	.link = vn_op_link,
	.unlink = vn_op_unlink,
	.rmdir = vn_op_rmdir,
	.rename = vn_op_rename,
	.open = vn_op_open,
	.create = vn_op_create,
	.read = vn_op_read,
	.write_buf = vn_op_write_buf,
	.flush = vn_op_flush,
	.release = vn_op_release,
	.fsync = vn_op_fsync,
	.opendir = vn_op_opendir,
	.readdir = vn_op_readdir,
	.readdirplus = vn_op_readdirplus,
	.releasedir = vn_op_releasedir,
	.fsyncdir = vn_op_fsyncdir,
	.statfs = vn_op_statfs,
	.getxattr = vn_op_getxattr,
	.setxattr = vn_op_setxattr,
	.listxattr = vn_op_listxattr,
	.removexattr = vn_op_removexattr,
	.access = vn_op_access,
	.fallocate = vn_op_fallocate,
	.copy_file_range = vn_op_copy_file_range,
	.lseek = vn_op_lseek,
	.flock = vn_op_flock,
};

/* How many O_PATH fds nodes may cache: half the fd limit, leaving the
 * rest for open files, directory streams and libfuse. */
static size_t fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1024;
	return rl.rlim_cur / 2 > 16 ? rl.rlim_cur / 2 : 16;
}

/* Can objects of the source be reopened by file handle? Needs
 * CAP_DAC_READ_SEARCH and a filesystem that exports handles. */
static bool probe_handles(int root_fd, int *mount_id)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = false;
	int fd;

	if (fh)
		fh->handle_bytes = MAX_HANDLE_SZ;
	if (fh && dfd >= 0 &&
	    name_to_handle_at(root_fd, "", fh, mount_id, AT_EMPTY_PATH) == 0) {
		fd = open_by_handle_at(dfd, fh, O_PATH | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			ok = true;
		}
	}
	if (dfd >= 0)
		close(dfd);
	free(fh);
	return ok;
}

/* The root node's directories beneath layer 0's root: every other
 * layer's root, down to an opaque one. */
static int root_lowers(struct vn_fs *fs, struct vn_entry_key *key)
{
	int i;

	if (fs->nlayers < 2 || vn_wh_opaque(fs, fs->layers[0].fd))
		return 0;
	key->lower = calloc((size_t)fs->nlayers, sizeof(*key->lower));
	if (!key->lower)
		return -ENOMEM;
	for (i = 1; i < fs->nlayers; i++) {
		struct vn_real *r = &key->lower[key->nlower++];
		struct stat st;

		if (fstat(fs->layers[i].fd, &st) < 0)
			return -errno;
		r->layer = i;
		r->dev = st.st_dev;
		r->ino = st.st_ino;
		r->mount_id = -1;
		if (i < fs->nlayers - 1 && vn_wh_opaque(fs, fs->layers[i].fd))
			break;
	}
	return 0;
}

static int make_root(struct vn_fs *fs)
{
	struct vn_entry_key key = { .mount_id = -1 };
	int fd = fcntl(fs->layers[0].fd, F_DUPFD_CLOEXEC, 0);
	struct stat st;
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.rino = st.st_ino;
	err = root_lowers(fs, &key);
	if (!err && !vn_table_set_root(&fs->table, &key, fd))
		err = -ENOMEM;
	if (err)
		close(fd);
	free(key.lower);
	return err;
}

/* Every layer must allow file handles for nodes to use them. */
static bool layers_have_handles(struct vn_fs *fs)
{
	int i, mount_id;

	for (i = 0; i < fs->nlayers; i++) {
		if (!probe_handles(fs->layers[i].fd, &mount_id))
			return false;
		vn_mount_note(fs, mount_id, fs->layers[i].fd);
	}
	return true;
}

int vn_fs_init(struct vn_fs *fs, const struct vn_opts *opts)
{
	int err, i;

	memset(fs, 0, sizeof(*fs));
	fs->opts = opts;
	fs->proc_fd = -1;
	fs->work_fd = -1;
	fs->lock_fds[0] = fs->lock_fds[1] = -1;
	pthread_mutex_init(&fs->mount_lock, NULL);
	pthread_mutex_init(&fs->copy_lock, NULL);
	pthread_mutex_init(&fs->xino_lock, NULL);
	pthread_cond_init(&fs->copy_cond, NULL);
	for (i = 0; i < VN_LINK_LOCKS; i++)
		pthread_mutex_init(&fs->link_locks[i], NULL);
	for (i = 0; i < VN_OPEN_LOCKS; i++)
		pthread_mutex_init(&fs->open_locks[i], NULL);
	fs->passthrough = opts->passthrough ? VN_PT_WANTED : VN_PT_OFF;
	err = vn_table_init(&fs->table, fd_budget());
	if (err)
		return err;
	err = vn_layers_open(fs, opts);
	if (err)
		return err;
	err = make_root(fs);
	if (err)
		return err;
	fs->use_handles = layers_have_handles(fs);
	/* Acting as the caller needs the capability to change ids: without
	 * it (mount.fuse3's drop_privileges runs the daemon as root with no
	 * capabilities) every request runs as the daemon. */
	fs->switch_creds = (geteuid() == 0 || fs->overlay) && vn_creds_able();
	fs->lookup_as_caller = fs->switch_creds && !opts->default_permissions;
	fs->entry_timeout = vn_opts_entry_timeout(opts);
	fs->attr_timeout = vn_opts_attr_timeout(opts);
	/* Names that do not exist are cached where nothing but the mount
	 * can create them (see cache_default in options.c). */
	if (opts->cache == VN_CACHE_ALWAYS ||
	    (opts->cache == VN_CACHE_AUTO && opts->overlay))
		fs->negative_timeout = fs->entry_timeout;
	vn_debug("%d layer(s), file handles %s, fd cache %zu", fs->nlayers,
		 fs->use_handles ? "on" : "off", fs->table.fd_max);
	return 0;
}

int vn_fs_start(struct vn_fs *fs)
{
	/* Opened in the process that serves requests: after daemonizing,
	 * /proc/self is a different process. */
	fs->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fs->proc_fd < 0 ? -errno : 0;
}

void vn_fs_mount_changed(struct vn_fs *fs)
{
	const char *mnt = fs->opts->mountpoint;
	int flags = (vn_mnt_noatime(mnt, false) ? VN_NOATIME : 0) |
		    (vn_mnt_noatime(mnt, true) ? VN_NODIRATIME : 0);

	__atomic_store_n(&fs->atime_flags, flags, __ATOMIC_RELAXED);
}

size_t vn_fs_destroy(struct vn_fs *fs)
{
	size_t used, open, left;
	int i;

	/* Nodes the kernel still knew are normal (it forgets nothing at
	 * unmount); nodes still in use by a request, or open, are a leak. */
	vn_table_held(&fs->table, &used, &open);
	if (used || open)
		vn_warn("at unmount %zu node(s) were still held by requests "
			"and %zu by open handles", used, open);
	left = vn_table_destroy(&fs->table);

	for (i = 0; i < fs->nmounts; i++)
		close(fs->mounts[i].fd);
	if (fs->proc_fd >= 0)
		close(fs->proc_fd);
	vn_layers_close(fs);
	pthread_mutex_destroy(&fs->mount_lock);
	pthread_mutex_destroy(&fs->copy_lock);
	pthread_mutex_destroy(&fs->xino_lock);
	pthread_cond_destroy(&fs->copy_cond);
	for (i = 0; i < VN_LINK_LOCKS; i++)
		pthread_mutex_destroy(&fs->link_locks[i]);
	for (i = 0; i < VN_OPEN_LOCKS; i++)
		pthread_mutex_destroy(&fs->open_locks[i]);
	return left;
}
