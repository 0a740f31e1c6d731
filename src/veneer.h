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
#define VN_OPEN_LOCKS 64

/* The kernel marks the open that execve(2) makes (the same bit as in the
 * kernel's open_exec) in an OPEN's flags; libfuse 3.14 has no name for
 * it. */
#define VN_FMODE_EXEC 0x20

/* Lock order, outermost first: a link stripe (links.c) -> an open lock
 * (passthrough.c) -> the copy lock (copy_up.c, held only to mark a node as
 * being copied, never across the copy) -> a directory handle's lock
 * (readdir.c) -> mount_lock or xino_lock -> the node table's lock, a leaf:
 * nothing is taken while it is held, nor is any held across a blocking
 * system call but the link stripe, the open lock (across the open of a
 * backing file and the kernel's ioctl) and the directory handle's. */

/* One layer of the mount: a real directory tree. Layer 0 is the top. In
 * passthrough mode SOURCE is the only layer; in overlay mode the upper
 * directory (if any) is layer 0 and the lower ones follow. */
struct vn_layer {
	int fd;			/* O_PATH root */
	dev_t dev;		/* of the root */
	uint64_t fsid_bits;	/* its filesystem's tag, or'ed into inode
				 * numbers that fit below it (layer.c) */
};

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
	size_t trim_peak;	/* most nodes seen by FORGET (lookup.c) */
	size_t max_read;	/* the largest READ or READDIR the kernel
				 * can send (set at INIT) */
	pthread_mutex_t mount_lock; /* serialises additions to mounts[] */
	struct vn_mount mounts[VN_MAX_MOUNTS];
	int nmounts;
	/* Without file handles, changes to an inode's link count through
	 * the mount are serialised per inode (striped by number), so that a
	 * removal knows whether it takes the last link (dir.c). */
	pthread_mutex_t link_locks[VN_LINK_LOCKS];

	/* Layers (layer.c). */
	struct vn_layer *layers;
	/* Inode numbers where layers span filesystems, as the kernel's
	 * xino: the top xino_bits bits tag the filesystem; a number too big
	 * for that gets one of the mount's own (xino_map). */
	int xino_bits;		/* 0: one filesystem, numbers as they are */
	pthread_mutex_t xino_lock; /* xino_map, xino_next */
	struct vn_xino *xino_map;
	size_t xino_cap, xino_count;
	uint64_t xino_next;
	int nlayers;
	bool overlay;		/* whiteouts and opaque dirs have meaning */
	bool writable;		/* layer 0 takes changes */
	int work_fd;		/* O_PATH workdir/work, or -1 */
	int lock_fds[2];	/* upperdir and workdir, flock'ed */
	bool wh_dev;		/* whiteouts are 0/0 devices, else .wh. files */
	const char *xprefix;	/* "trusted.overlay." or "user.overlay." */
	bool nosync;		/* volatile: never sync the upper layer */
	/* Copy-up: one at a time per node (vn_node.copying), none global. */
	pthread_mutex_t copy_lock;
	pthread_cond_t copy_cond;
	uint64_t tmp_seq;	/* names of temporaries in work_fd */
	struct fuse_session *se; /* for notifications to the kernel */
	/* The mount's atime flags as mountinfo shows them (atomic), read
	 * again after a remount (node.c). */
	int atime_flags;	/* VN_NOATIME | VN_NODIRATIME */
	/* Kernel passthrough (transport.c, passthrough.c): atomic. */
	int passthrough;	/* enum vn_pt */
	/* FUSE_HANDLE_KILLPRIV_V2 was taken at INIT (with passthrough): the
	 * daemon clears set-ID bits where the kernel asks (vn_kill_privs). */
	bool kill_privs;
	/* Each node's passthrough state, striped by nodeid. */
	pthread_mutex_t open_locks[VN_OPEN_LOCKS];
	/* What the statistics show (atomic). */
	struct {
		uint64_t read;		/* READ requests */
		uint64_t write;		/* WRITE requests */
		uint64_t open_passthrough; /* opens the kernel serves */
		uint64_t open_cached;	/* opens the daemon serves */
		uint64_t open_now;	/* files open now (both kinds) */
	} counts;
};

/* Where kernel passthrough stands for a mount. */
enum vn_pt {
	VN_PT_OFF,		/* -o nopassthrough */
	VN_PT_WANTED,		/* asked for, INIT not yet answered */
	VN_PT_UNAVAILABLE,	/* the kernel does not offer it */
	VN_PT_ON,		/* negotiated at INIT */
	VN_PT_REFUSED,		/* the kernel refused a backing file */
};

#define VN_NOATIME 1
#define VN_NODIRATIME 2

/* An open directory: see readdir.c. */
struct vn_dir;
/* An inode number handed out by the mount (layer.c). */
struct vn_xino;

/* stats.c: the housekeeping thread (counts and memory logged on SIGUSR1,
 * changes of the mount's flags followed). Start before serving; stop
 * before fs is destroyed. */
int vn_stats_start(struct vn_fs *fs);
void vn_stats_stop(void);

/* ops.c */
extern const struct fuse_lowlevel_ops vn_ops;
/* The filesystem a request belongs to. */
struct vn_fs *vn_fs(fuse_req_t req);
/* size, cut to the largest READ or READDIR the kernel can send. */
size_t vn_read_size(fuse_req_t req, size_t size);
/* Set up fs: open the layers and make the root node. Returns 0 or -errno
 * (a message is logged). */
int vn_fs_init(struct vn_fs *fs, const struct vn_opts *opts);
/* Finish setting up in the process that will serve requests.
 * Returns 0 or -errno. */
int vn_fs_start(struct vn_fs *fs);
/* Release everything; returns how many nodes were still in the table. */
size_t vn_fs_destroy(struct vn_fs *fs);
/* The mount table may have changed: read the mount's flags again
 * (atime_flags). */
void vn_fs_mount_changed(struct vn_fs *fs);

/* node.c */
/* Take a use reference on the node for a kernel nodeid; NULL if unknown. */
struct vn_node *vn_node_get(struct vn_fs *fs, fuse_ino_t ino);
/* Drop a use reference (NULL is ignored). */
void vn_node_put(struct vn_fs *fs, struct vn_node *n);
/* The node's O_PATH fd, reopened by file handle or from its parent if it
 * was evicted. Valid while the caller holds its use reference. Call with
 * the daemon's own credentials. Returns the fd or -errno. */
int vn_node_fd(struct vn_fs *fs, struct vn_node *n);
/* An O_PATH fd of n's real directory on layer: n's own fd when that is
 * its top layer (*owned false), else one the caller must close (*owned
 * true). Returns the fd, -ENOENT if n has nothing on layer, or -errno. */
int vn_node_layer_fd(struct vn_fs *fs, struct vn_node *n, int layer,
		     bool *owned);
/* The inode number shown for n's parent (the root's own for the root). */
uint64_t vn_parent_ino(struct vn_fs *fs, struct vn_node *n);
/* Get the node for ino and its fd in one step. Returns 0 or -errno; on
 * success *np must be released with vn_node_put(). */
int vn_node_get_fd(struct vn_fs *fs, fuse_ino_t ino, struct vn_node **np,
		   int *fdp);
/* Whether what the kernel cached of n (pages, directory listing) can be
 * kept: the object open as fd is unchanged since n was last opened. If it
 * has changed, the kernel is told to drop its attributes too. */
bool vn_node_keep_cache(struct vn_fs *fs, struct vn_node *n, int fd);
/* Register the mount that the directory open as dirfd (O_PATH is fine)
 * lives on, for reopening by handle. Lock-free when the mount is known. */
void vn_mount_note(struct vn_fs *fs, int mount_id, int dirfd);

/* sys.c */
/* Format /proc/self/fd/FD into buf (at least 32 bytes). */
void vn_proc_path(int fd, char *buf, size_t size);
/* openat(2) returning the fd or -errno; when the process is out of fds,
 * idle cached fds are closed and the call is tried once more. */
int vn_openat(struct vn_fs *fs, int dirfd, const char *name, int flags,
	      mode_t mode);
/* Reopen an O_PATH fd with real open flags through /proc/self/fd.
 * Returns the new fd or -errno. */
int vn_reopen(struct vn_fs *fs, int fd, int flags);
/* vn_reopen for reading data or entries on the caller's behalf: on a
 * noatime mount (nodiratime for a directory) with O_NOATIME where the
 * opener may use it, so that the real object's atime stays as the mount
 * promises. */
int vn_reopen_data(struct vn_fs *fs, int fd, int flags);

/* layer.c */
/* Open the layers named by the options and probe what they support.
 * Returns 0 or -errno with a message logged. */
int vn_layers_open(struct vn_fs *fs, const struct vn_opts *o);
void vn_layers_close(struct vn_fs *fs);
/* The inode number presented for real inode ino found on layer: ino
 * itself where the layers share one filesystem, else ino tagged with its
 * filesystem, or (too big to tag) a number of the mount's own, the same
 * for the mount's life. */
uint64_t vn_layer_ino(struct vn_fs *fs, int layer, ino_t ino);
/* Is layer the writable one? */
bool vn_layer_is_upper(struct vn_fs *fs, int layer);

/* What a walk of the layers found for a name (lookup.c). */
struct vn_found {
	int fd;			/* O_PATH fd of the topmost object, or -1 */
	int layer;		/* its layer */
	struct stat st;		/* its attributes */
	struct vn_real *lower;	/* directories merged beneath it */
	int nlower;
};

/* lookup.c */
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
/* Walk dir's layers for name (overlay mode): whiteouts hide it, a
 * non-directory or an opaque directory ends the walk, directories below
 * the first one merge. Returns 0 with *f filled (free it with
 * vn_found_free), -ENOENT, or -errno. */
int vn_walk(struct vn_fs *fs, fuse_req_t req, struct vn_node *dir,
	    const char *name, struct vn_found *f);
/* The same from the start'th directory of dir's stack down. */
int vn_walk_from(struct vn_fs *fs, struct vn_node *dir, const char *name,
		 int start, struct vn_found *f);
void vn_found_free(struct vn_found *f);
/* Enter what vn_walk found (its fd and lowers are consumed) and fill e. */
int vn_entry_from_found(struct vn_fs *fs, struct vn_node *dir,
			const char *name, struct vn_found *f,
			struct fuse_entry_param *e);
/* Reply with an entry whose lookup was counted; if the reply cannot be
 * delivered the count is taken back. */
void vn_reply_entry(fuse_req_t req, const struct fuse_entry_param *e);
void vn_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void vn_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void vn_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets);

/* inode.c */
/* The object's file handle, or NULL where there is none to use (no
 * handles on this mount, or the filesystem has none). */
struct file_handle *vn_get_handle(struct vn_fs *fs, int fd, int *mount_id);
/* Birth time in ns of the object open as fd, 0 if the filesystem has
 * none: where there are no file handles, it tells a reused inode number
 * apart from the deleted object. */
uint64_t vn_birth(int fd);
/* The inode number recorded on a copied-up object: the one open as fd, or
 * with name, the entry name in the directory open as fd. Returns 0 or
 * -errno (-ENODATA: none recorded). */
int vn_origin_at(struct vn_fs *fs, int fd, const char *name, uint64_t *ino);
/* Record on the copy at path (a /proc/self/fd path) the inode number ino
 * its original showed, so that it keeps it. */
void vn_origin_set(struct vn_fs *fs, const char *path, uint64_t ino);
/* The inode number to present for a new node whose top object (stat st)
 * is open as fd on layer: a copied-up object keeps the one it had below. */
uint64_t vn_present_ino(struct vn_fs *fs, int layer, int fd,
			const struct stat *st);
/* Map an id given on the mount to the id stored on disk. */
uid_t vn_uid_to_disk(struct vn_fs *fs, uid_t uid);
gid_t vn_gid_to_disk(struct vn_fs *fs, gid_t gid);
/* The xattr that xattr_permissions= keeps owner and mode in, or NULL. */
const char *vn_override_name(struct vn_fs *fs);
/* Is name that xattr? */
bool vn_override_xattr(struct vn_fs *fs, const char *name);
/* Read the override of the object open as fd. Returns 0 or -errno. */
int vn_override_get(struct vn_fs *fs, int fd, unsigned int *uid,
		    unsigned int *gid, unsigned int *mode);
/* Turn the real attributes of n's object (open as fd) into those the
 * mount shows: inode number, st_blksize, directory link count, owner and
 * mode (the xattr_permissions override, squash, id maps). */
void vn_present(struct vn_fs *fs, struct vn_node *n, int fd, struct stat *st);

/* copy_up.c */
/* Make sure n's real object is on the upper layer, copying it and its
 * parents up if needed (without its data when data is false: it is about
 * to be truncated to nothing). Call with the daemon's credentials.
 * Returns 0, -EROFS without an upper layer, or -errno. */
int vn_copy_up(struct vn_fs *fs, struct vn_node *n, bool data);
bool vn_node_is_upper(struct vn_fs *fs, struct vn_node *n);
/* A fresh name for a temporary in the work directory. */
void vn_temp_name(struct vn_fs *fs, char *buf, size_t size);

/* upper.c */
/* Creates an object as name in dirfd: returns an fd (>= 0) or 0, or
 * -errno. */
typedef int (*vn_make_fn)(int dirfd, const char *name, void *arg);
/* The node for name in the merged directory dir, with a use reference
 * and no lookup count (overlay mode). */
int vn_child_get(struct vn_fs *fs, struct vn_node *dir, const char *name,
		 struct vn_node **np);
/* Copy dir up and give its upper fd. Returns 0 or -errno. */
int vn_upper_dir(struct vn_fs *fs, struct vn_node *dir, int *dirfd);
/* Make name in the upper directory dirfd with make(), replacing a
 * whiteout there if any (a directory made over one is opaque). type is
 * the new object's S_IFMT bits, 0 for a new name of an existing one. */
int vn_upper_create(struct vn_fs *fs, int dirfd, const char *name,
		    mode_t type, vn_make_fn make, void *arg);
/* Remove name (node n) from dir (its upper fd dirfd), leaving a whiteout
 * where a lower layer has the name. The caller has checked that a
 * directory looks empty (vn_merged_empty). */
int vn_upper_remove(struct vn_fs *fs, struct vn_node *dir, int dirfd,
		    const char *name, struct vn_node *n, bool is_dir);
/* RENAME in an overlay: every check first, then copy-up of the parents
 * and the objects, whiteouts, EXDEV for directories with lower parts,
 * opaque directories where lower ones would show. */
int vn_upper_rename(struct vn_fs *fs, struct vn_node *dir, const char *name,
		    struct vn_node *newdir, const char *newname,
		    unsigned int flags);
/* Copy dir up to make name in it, and give its upper fd: -EEXIST, with
 * nothing copied, if the merged directory shows name already. */
int vn_upper_dir_for(struct vn_fs *fs, struct vn_node *dir, const char *name,
		     int *dirfd);
/* -ENOTEMPTY unless the merged directory n shows no entries. */
int vn_merged_empty(struct vn_fs *fs, struct vn_node *n);
/* Does n merge directories of more than one layer? */
bool vn_node_merged(struct vn_fs *fs, struct vn_node *n);

/* attr.c */
void vn_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int valid, struct fuse_file_info *fi);
void vn_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void vn_op_statfs(fuse_req_t req, fuse_ino_t ino);

/* dir.c */
/* vn_check_name, and in an overlay no name of the whiteout format. */
int vn_check_new_name(struct vn_fs *fs, const char *name);
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

/* links.c */
/* A name about to be removed (or replaced by a rename). When it holds the
 * last link, the inode number may come back for a new object, which must
 * not be taken for the old one. File handles tell them apart by generation;
 * without them the node is unhashed once the name is gone. For that count
 * to be true, every change of link counts through the mount (unlink,
 * rmdir, rename: source and target, link) holds striped per-inode locks on
 * the inodes it touches, taken in address order and checked again once
 * held; a name that changed meanwhile is looked at again. */
struct vn_guard {
	pthread_mutex_t *locks[2];	/* held, or NULL */
	struct stat st[2];		/* [0] the source, [1] the target */
	bool found[2];
	bool last;			/* the target loses its last link */
};
/* Does this mount need the guard? Only passthrough without file
 * handles. */
bool vn_guard_links(struct vn_fs *fs);
/* The stripe lock of inode number ino. */
pthread_mutex_t *vn_link_lock(struct vn_fs *fs, ino_t ino);
/* Lock the inodes that name (may be NULL) in dirfd and newname in newdirfd
 * hold; replaced says whether the change removes newname's link. */
void vn_guard_begin(struct vn_fs *fs, int dirfd, const char *name,
		    int newdirfd, const char *newname, bool replaced,
		    struct vn_guard *g);
/* The change is done (err: its result): unhash a node that lost its last
 * link, and unlock. */
void vn_guard_end(struct vn_fs *fs, struct vn_guard *g, int err);

/* readdir.c */
/* A merged directory listing: every visible name once. */
struct vn_list_entry {
	char *name;
	uint64_t ino;		/* as vn_present would show it */
	unsigned char type;	/* DT_* */
};
struct vn_list {
	struct vn_list_entry *e;
	size_t count;
	size_t cap;
};
/* List the merged directory n. Returns 0 or -errno. */
int vn_list_build(struct vn_fs *fs, struct vn_node *n, struct vn_list *l);
void vn_list_free(struct vn_list *l);
void vn_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vn_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void vn_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void vn_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);
void vn_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);

/* transport.c */
/* Install the custom io over se's /dev/fuse descriptor (after mounting,
 * before serving). Returns 0 or -errno. */
int vn_transport_install(struct vn_fs *fs, struct fuse_session *se);
/* This thread's next OPEN (create false) or CREATE reply is passthrough
 * with backing_id; vn_transport_disarm() after the reply. */
void vn_transport_arm(int backing_id, bool create);
void vn_transport_disarm(void);
/* Did INIT offer kernel passthrough (with FUSE_HANDLE_KILLPRIV_V2, which
 * the daemon takes with it)? Valid from the init callback on. */
bool vn_transport_offers_passthrough(void);
/* Does the request this thread serves ask, by FUSE_HANDLE_KILLPRIV_V2's
 * flag, for set-user-ID and set-group-ID to be cleared (vn_kill_privs)? */
bool vn_transport_kill_privs(void);
/* Give the kernel the regular file open as fd as a backing file. Returns
 * the backing id (> 0) or -errno. */
int vn_backing_open(struct vn_fs *fs, int fd);
/* Release a backing id once no open uses it. */
void vn_backing_close(struct vn_fs *fs, int id);

/* passthrough.c */
enum { VN_OPEN_CACHED, VN_OPEN_PASSTHROUGH };
/* Is passthrough negotiated and not refused? */
bool vn_pt_active(struct vn_fs *fs);
/* How the kernel is to serve an open (flags) of the regular file n, whose
 * object is open as fd (O_PATH): VN_OPEN_PASSTHROUGH with its backing id
 * in *backing_id, or VN_OPEN_CACHED; counted on the node until
 * vn_pt_release. -ESTALE: n was copied up under passthrough opens and is
 * retired (the kernel looks the name up again and retries). Call with the
 * daemon's credentials. */
int vn_pt_open(struct vn_fs *fs, struct vn_node *n, int fd, int flags,
	       int *backing_id);
/* An open vn_pt_open counted ends (RELEASE, or its reply was refused). */
void vn_pt_release(struct vn_fs *fs, struct vn_node *n, bool passthrough);

/* file.c */
/* Clear the set-group-ID bit of the regular file open as fd (O_PATH
 * will do) where the real filesystem would for a write by req's caller that
 * the kernel's own check lets keep it. Returns whether it did. */
bool vn_drop_sgid(fuse_req_t req, int fd);
/* Clear what a write by req's caller, who lacks CAP_FSETID, clears on the
 * real filesystem: set-user-ID, and set-group-ID where group execute is
 * set or the caller is not in the file's group; as the daemon, on the
 * regular file open as fd (O_PATH will do). For the kernel's requests
 * under FUSE_HANDLE_KILLPRIV_V2. Returns whether the mode changed. */
bool vn_kill_privs(fuse_req_t req, int fd);
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
/* Is name one of overlay's own xattrs, never shown or copied? */
bool vn_private_xattr(struct vn_fs *fs, const char *name);
/* Is name hidden on the mount (private, or the xattr_permissions one)? */
bool vn_hidden_xattr(struct vn_fs *fs, const char *name);
void vn_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size);
void vn_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void vn_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags);
void vn_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
