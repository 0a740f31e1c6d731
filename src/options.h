/* Command line and -o options: parsing, defaults, validation, --help. */
#ifndef VN_OPTIONS_H
#define VN_OPTIONS_H

#include <stdbool.h>

#include "mnt.h"

struct fuse_args;

enum vn_cache { VN_CACHE_NEVER, VN_CACHE_AUTO, VN_CACHE_ALWAYS };

/* One range of uidmapping= or gidmapping=: ids [inner, inner + len) as
 * presented on the mount are [outer, outer + len) on disk. */
struct vn_idmap {
	unsigned int inner;
	unsigned int outer;
	unsigned int len;
};

#define VN_MAX_IDMAP 32

struct vn_opts {
	char *source;		/* first non-option argument */
	char *mountpoint;	/* second non-option argument */
	int nargs;		/* how many non-option arguments were seen */
	enum vn_cache cache;
	double attr_timeout;	/* with attr_timeout_set */
	double entry_timeout;	/* with entry_timeout_set */
	bool attr_timeout_set;	/* else the cache mode's default */
	bool entry_timeout_set;
	int writeback;
	int passthrough;	/* kernel passthrough (default on) */
	int noxattr;
	int default_permissions; /* on unless nodefault_permissions */
	int allow_other;
	int allow_root;
	int noallow_other;	/* root: only the mounting user, not all */
	int show_help;
	int show_version;
	int foreground;
	int debug;
	int singlethread;
	int clone_fd;
	unsigned int max_idle_threads;	/* 1 to 100000 */

	/* Overlay mode: set when lowerdir= is given. */
	int overlay;
	char **lowers;		/* lowerdir=, split and unescaped; top first */
	int nlowers;
	char *upperdir;		/* NULL: a read-only overlay */
	char *workdir;
	int userxattr;		/* user.overlay.* instead of trusted.* */
	int squash_to_root;
	long squash_uid;	/* -1: not set */
	long squash_gid;
	struct vn_idmap uidmap[VN_MAX_IDMAP];
	int nuidmap;
	struct vn_idmap gidmap[VN_MAX_IDMAP];
	int ngidmap;
	int nosync;		/* volatile or fsync=0 */
	int noacl;
	int static_nlink;
	int xattr_permissions;	/* 0, 1 or 2 */
	int wh_files;		/* whiteout=files: .wh. files, not devices */

	/* mount(8)'s own options. */
	struct vn_mflags mflags; /* ro, nosuid, noatime, lazytime...: see
				  * mnt.h */
	int remount;		/* change the flags of a mounted veneerfs */
	unsigned int blksize;	/* st_blksize shown, 0: the real one */
	char kernel_opt[64];	/* first user_id=, group_id=... given: only
				 * mount(8)'s remount passes them */
	char bad[512];		/* first error message, if parsing failed
				 * ("" if none): a fixed buffer, so that
				 * recording an error cannot fail */
};

/* Parse argv in args into o. Options meant for libfuse stay in args.
 * Returns 0, or -1 with o->bad set to a one-line message. */
int vn_opts_parse(struct fuse_args *args, struct vn_opts *o);

/* Check that the parsed values make sense together and that SOURCE and
 * MOUNTPOINT are usable directories. Returns 0, or -1 with o->bad set. */
int vn_opts_validate(struct vn_opts *o);

/* Timeouts that apply once cache= and the explicit timeouts are combined. */
double vn_opts_entry_timeout(const struct vn_opts *o);
double vn_opts_attr_timeout(const struct vn_opts *o);

/* Print usage and the option list to stdout. */
void vn_opts_help(const char *progname);

/* Record a one-line error in o->bad (the first one wins; a long one is
 * cut). */
void vn_opts_bad(struct vn_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* If mountpoint is /dev/fd/N with N an open /dev/fuse descriptor (the
 * filesystem is mounted already: mount.fuse3's drop_privileges), N;
 * else -1. */
int vn_opts_fuse_fd(const char *mountpoint);

/* Check that *path is a directory and replace it with its resolved path.
 * Returns 0, or -1 with o->bad set; what names it in the message. */
int vn_opts_check_dir(struct vn_opts *o, const char *what, char **path);

/* Free strings owned by o. */
void vn_opts_free(struct vn_opts *o);

#endif
