/* veneerfs private header: the filesystem context and the prototypes shared
 * between source files, grouped by the file that defines them. */
#ifndef VN_VENEER_H
#define VN_VENEER_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "node_table.h"
#include "options.h"

#define VN_MAX_MOUNTS 64
#define VN_LINK_LOCKS 64

/* One mounted filesystem below SOURCE, for open_by_handle_at(). */
struct vn_mount {
	int id;
	int fd;
};

struct vn_fs {
	struct vn_table table;
	const struct vn_opts *opts;
	int proc_fd;		/* /proc/self/fd, for reopening O_PATH fds */
	bool use_handles;	/* file handles work for the source */
	bool switch_creds;	/* running as root: act as the caller */
	bool lookup_as_caller;	/* no default_permissions: the kernel does
				 * not check search permission, SOURCE must */
	double entry_timeout;
	double attr_timeout;
	double negative_timeout; /* 0: do not cache negative lookups */
	pthread_mutex_t mount_lock; /* serialises additions to mounts[] */
	struct vn_mount mounts[VN_MAX_MOUNTS];
	int nmounts;
	/* Without file handles, changes to an inode's link count through
	 * the mount are serialised per inode (striped by number), so that a
	 * removal knows whether it takes the last link (dir.c). */
	pthread_mutex_t link_locks[VN_LINK_LOCKS];
};

/* An open directory: see readdir.c. */
struct vn_dir;

/* ops.c */
extern const struct fuse_lowlevel_ops vn_ops;
/* The filesystem a request belongs to. */
struct vn_fs *vn_fs(fuse_req_t req);
/* Set up fs for the directory open as root_fd (O_PATH, consumed).
 * Returns 0 or -errno. */
int vn_fs_init(struct vn_fs *fs, const struct vn_opts *opts, int root_fd);
/* Finish setting up in the process that will serve requests.
 * Returns 0 or -errno. */
int vn_fs_start(struct vn_fs *fs);
/* Release everything; returns how many nodes were still in the table. */
size_t vn_fs_destroy(struct vn_fs *fs);

/* node.c */
/* Take a use reference on the node for a kernel nodeid; NULL if unknown. */
struct vn_node *vn_node_get(struct vn_fs *fs, fuse_ino_t ino);
/* Drop a use reference (NULL is ignored). */
void vn_node_put(struct vn_fs *fs, struct vn_node *n);
/* The node's O_PATH fd, reopened by file handle or from its parent if it
 * was evicted. Valid while the caller holds its use reference. Call with
 * the daemon's own credentials. Returns the fd or -errno. */
int vn_node_fd(struct vn_fs *fs, struct vn_node *n);
/* Get the node for ino and its fd in one step. Returns 0 or -errno; on
 * success *np must be released with vn_node_put(). */
int vn_node_get_fd(struct vn_fs *fs, fuse_ino_t ino, struct vn_node **np,
		   int *fdp);
/* openat(2) returning the fd or -errno; when the process is out of fds,
 * idle cached fds are closed and the call is tried once more. */
int vn_openat(struct vn_fs *fs, int dirfd, const char *name, int flags,
	      mode_t mode);
/* Reopen an O_PATH fd with real open flags through /proc/self/fd.
 * Returns the new fd or -errno. */
int vn_reopen(struct vn_fs *fs, int fd, int flags);
/* Format /proc/self/fd/FD into buf (at least 32 bytes). */
void vn_proc_path(int fd, char *buf, size_t size);
/* Register the mount that the directory open as dirfd (O_PATH is fine)
 * lives on, for reopening by handle. Lock-free when the mount is known. */
void vn_mount_note(struct vn_fs *fs, int mount_id, int dirfd);

/* lookup.c */
/* Birth time in ns of the object open as fd, 0 if the filesystem has
 * none: where there are no file handles, it tells a reused inode number
 * apart from the deleted object. */
uint64_t vn_birth(int fd);
/* Check a name from the kernel: 0, -EINVAL or -ENAMETOOLONG. */
int vn_check_name(const char *name);
/* Look up name in dir (open as dirfd), fill e and count one kernel lookup
 * on the resulting node. With req, the name is resolved as req's caller
 * where the kernel leaves permission checks to us; with NULL (an entry the
 * caller just made), as the daemon. Returns 0 or -errno. */
int vn_lookup_entry(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
		    int dirfd, const char *name, struct fuse_entry_param *e);
/* The same for an object already open as the O_PATH fd, which is consumed
 * (cached in the node, or closed on error). */
int vn_entry_from_fd(struct vn_fs *fs, struct vn_node *dir, const char *name,
		     int fd, struct fuse_entry_param *e);
void vn_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void vn_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void vn_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets);

/* attr.c */
void vn_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int valid, struct fuse_file_info *fi);
void vn_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void vn_op_statfs(fuse_req_t req, fuse_ino_t ino);

/* dir.c */
void vn_op_readlink(fuse_req_t req, fuse_ino_t ino);
void vn_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev);
void vn_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode);
void vn_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name);
void vn_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname);
void vn_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void vn_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void vn_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags);

/* readdir.c */
void vn_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void vn_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void vn_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);
void vn_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);

/* file.c */
void vn_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi);
void vn_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void vn_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *buf,
		     off_t off, struct fuse_file_info *fi);
void vn_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);
void vn_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi);
void vn_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		 struct fuse_file_info *fi);
void vn_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			   off_t off_out, struct fuse_file_info *fi_out,
			   size_t len, int flags);
void vn_op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		 int op);

/* xattr.c */
void vn_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size);
void vn_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void vn_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags);
void vn_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
