/* Command line parsing and validation. Options veneerfs does not know are
 * left in the argument list for libfuse, which rejects the ones it does not
 * know either, before anything is mounted. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define FUSE_USE_VERSION 312
#include <fuse_opt.h>

#include "mnt.h"
#include "options.h"
#include "overlay_opts.h"

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_CACHE,
	KEY_ATTR_TIMEOUT,
	KEY_ENTRY_TIMEOUT,
	KEY_ALLOW_OTHER,
	KEY_ALLOW_ROOT,
	KEY_SQUASH_UID,
	KEY_SQUASH_GID,
	KEY_FSYNC,
	KEY_XATTR_PERMS,
	KEY_REDIRECT_DIR,
	KEY_WHITEOUT,
	KEY_IDLE_THREADS,
};

#define VN_OPT(t, field, v) { t, offsetof(struct vn_opts, field), v }

static const struct fuse_opt vn_opt_spec[] = {
	VN_OPT("writeback", writeback, 1),
	VN_OPT("no_writeback", writeback, 0),
	VN_OPT("passthrough", passthrough, 1),
	VN_OPT("nopassthrough", passthrough, 0),
	VN_OPT("noxattr", noxattr, 1),
	VN_OPT("default_permissions", default_permissions, 1),
	VN_OPT("nodefault_permissions", default_permissions, 0),
	VN_OPT("clone_fd", clone_fd, 1),
	/* Numbers are read by our own parsers: fuse_opt's "%u" prints its
	 * own message and takes "-1" as 4294967295. */
	FUSE_OPT_KEY("max_idle_threads=", KEY_IDLE_THREADS),
	FUSE_OPT_KEY("cache=", KEY_CACHE),
	FUSE_OPT_KEY("attr_timeout=", KEY_ATTR_TIMEOUT),
	FUSE_OPT_KEY("entry_timeout=", KEY_ENTRY_TIMEOUT),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_ROOT),
	VN_OPT("noallow_other", noallow_other, 1),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	/* Overlay mode; lowerdir=, upperdir=, workdir= and the id maps are
	 * taken from the raw command line first, as is context=
	 * (see vn_take_raw_opts). */
	VN_OPT("userxattr", userxattr, 1),
	VN_OPT("squash_to_root", squash_to_root, 1),
	VN_OPT("volatile", nosync, 1),
	VN_OPT("noacl", noacl, 1),
	VN_OPT("static_nlink", static_nlink, 1),
	FUSE_OPT_KEY("squash_to_uid=", KEY_SQUASH_UID),
	FUSE_OPT_KEY("squash_to_gid=", KEY_SQUASH_GID),
	FUSE_OPT_KEY("fsync=", KEY_FSYNC),
	FUSE_OPT_KEY("xattr_permissions=", KEY_XATTR_PERMS),
	FUSE_OPT_KEY("redirect_dir=", KEY_REDIRECT_DIR),
	FUSE_OPT_KEY("whiteout=", KEY_WHITEOUT),
	FUSE_OPT_END
};

void vn_opts_bad(struct vn_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->bad[0])
		return; /* keep the first problem */
	va_start(ap, fmt);
	vsnprintf(o->bad, sizeof(o->bad), fmt, ap);
	va_end(ap);
	if (!o->bad[0])
		snprintf(o->bad, sizeof(o->bad), "invalid arguments");
}

static int parse_cache(struct vn_opts *o, const char *value)
{
	if (strcmp(value, "never") == 0)
		o->cache = VN_CACHE_NEVER;
	else if (strcmp(value, "auto") == 0)
		o->cache = VN_CACHE_AUTO;
	else if (strcmp(value, "always") == 0)
		o->cache = VN_CACHE_ALWAYS;
	else {
		vn_opts_bad(o, "bad value in 'cache=%s': expected never, auto or "
			   "always", value);
		return -1;
	}
	return 0;
}

/* NAME=SECS: a finite number of seconds >= 0. */
static int parse_timeout(struct vn_opts *o, const char *arg, double *value,
			 bool *set)
{
	const char *eq = strchr(arg, '=');
	char *end;
	double v;

	errno = 0;
	v = strtod(eq + 1, &end);
	if (end == eq + 1 || *end || errno || !isfinite(v) || v < 0) {
		vn_opts_bad(o, "bad value in '%s': expected seconds >= 0", arg);
		return -1;
	}
	*value = v;
	*set = true;
	return 0;
}

/* NAME=N with N an integer in [min, max]. */
static int parse_long(struct vn_opts *o, const char *arg, long min, long max,
		      long *value)
{
	const char *eq = strchr(arg, '=');
	char *end;
	long v;

	errno = 0;
	v = strtol(eq + 1, &end, 10);
	if (end == eq + 1 || *end || errno || v < min || v > max) {
		vn_opts_bad(o, "bad value in '%s': expected a number from %ld to "
			   "%ld", arg, min, max);
		return -1;
	}
	*value = v;
	return 0;
}

static int take_nonopt(struct vn_opts *o, const char *arg)
{
	char **slot = o->nargs == 0 ? &o->source : &o->mountpoint;

	if (++o->nargs > 2) {
		vn_opts_bad(o, "too many arguments: '%s'", arg);
		return -1;
	}
	*slot = strdup(arg);
	if (!*slot) {
		vn_opts_bad(o, "out of memory");
		return -1;
	}
	return 0;
}

/* Options of fstab(5) meant for mount(8), systemd or other programs, not
 * for the filesystem. mount(8) removes them before running the helper;
 * given on veneerfs' own command line they are dropped too. */
static bool userspace_option(const char *arg)
{
	static const char *const exact[] = {
		"defaults", "auto", "noauto", "nofail", "_netdev", "user",
		"nouser", "users", "owner", "group", NULL
	};
	int i;

	for (i = 0; exact[i]; i++)
		if (strcmp(arg, exact[i]) == 0)
			return true;
	return strncmp(arg, "x-", 2) == 0 || strncmp(arg, "comment=", 8) == 0;
}

/* The -o options left for libfuse 3.14 (checked here, so that a bad one
 * is refused with veneerfs' own message): whether to unmount when the
 * daemon dies, the names and read size the kernel is told. */
static int libfuse_option(struct vn_opts *o, const char *arg)
{
	long v;

	if (strcmp(arg, "auto_unmount") == 0)
		return 1;
	if (strncmp(arg, "fsname=", 7) == 0 ||
	    strncmp(arg, "subtype=", 8) == 0) {
		if (!strchr(arg, '=')[1]) {
			vn_opts_bad(o, "'%s' needs a name", arg);
			return -1;
		}
		return 1;
	}
	if (strncmp(arg, "max_read=", 9) == 0)
		return parse_long(o, arg, 1, UINT32_MAX, &v) < 0 ? -1 : 1;
	if (strncmp(arg, "user=", 5) == 0)
		return 1; /* for mtab only: libfuse drops it */
	return 0;
}

/* Options the kernel shows for a FUSE mount (mount(8) passes them back at
 * a remount): set by libfuse and the kernel, never by the user. */
static bool kernel_fuse_option(const char *arg)
{
	static const char *const prefix[] = {
		"user_id=", "group_id=", "rootmode=", "fd=", NULL
	};
	int i;

	for (i = 0; prefix[i]; i++)
		if (strncmp(arg, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

/* Security labels: nothing on a FUSE mount without an LSM that uses
 * them, and the kernel refuses them then; dropped, as context= is. */
static bool label_option(const char *arg)
{
	return strncmp(arg, "fscontext=", 10) == 0 ||
	       strncmp(arg, "defcontext=", 11) == 0 ||
	       strncmp(arg, "rootcontext=", 12) == 0;
}

/* blksize=N: the st_blksize every object reports (the kernel takes the
 * option itself only for block-device FUSE mounts). */
static int parse_blksize(struct vn_opts *o, const char *arg)
{
	long v;

	if (parse_long(o, arg, 512, 1 << 20, &v) < 0)
		return -1;
	if (v & (v - 1)) {
		vn_opts_bad(o, "bad value in '%s': expected a power of two",
			    arg);
		return -1;
	}
	o->blksize = (unsigned int)v;
	return 0;
}

/* An -o option that is not veneerfs' own: mount(8)'s, libfuse's, or
 * unknown. Returns 0 to drop it, 1 to keep it for libfuse, -1 if bad. */
static int other_option(struct vn_opts *o, const char *arg)
{
	char why[128];
	int r;

	if (userspace_option(arg) || label_option(arg))
		return 0;
	if (strcmp(arg, "remount") == 0) {
		o->remount = 1;
		return 0;
	}
	r = vn_mflags_parse(&o->mflags, arg, why, sizeof(why));
	if (r < 0)
		vn_opts_bad(o, "%s", why);
	if (r)
		return r < 0 ? -1 : 0;
	if (kernel_fuse_option(arg)) {
		if (!o->kernel_opt[0])
			snprintf(o->kernel_opt, sizeof(o->kernel_opt), "%s",
				 arg);
		return 0;
	}
	if (strncmp(arg, "blksize=", 8) == 0)
		return parse_blksize(o, arg);
	r = arg[0] == '-' ? 0 : libfuse_option(o, arg);
	if (r == 0)
		vn_opts_bad(o, "unknown option '%s'", arg);
	return r == 0 ? -1 : r;
}

/* fuse_opt callback: returns 0 to drop arg, 1 to keep it for libfuse, -1 on
 * error. */
static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct vn_opts *o = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		return take_nonopt(o, arg);
	case FUSE_OPT_KEY_OPT:
		return other_option(o, arg);
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_FOREGROUND:
		o->foreground = 1;
		return 0;
	case KEY_DEBUG:
		o->debug = 1;
		o->foreground = 1;
		return 1; /* libfuse prints each request */
	case KEY_SINGLE:
		o->singlethread = 1;
		return 0;
	case KEY_CACHE:
		return parse_cache(o, arg + strlen("cache="));
	case KEY_ATTR_TIMEOUT:
		return parse_timeout(o, arg, &o->attr_timeout,
				     &o->attr_timeout_set);
	case KEY_ENTRY_TIMEOUT:
		return parse_timeout(o, arg, &o->entry_timeout,
				     &o->entry_timeout_set);
	case KEY_ALLOW_OTHER:
		o->allow_other = 1;
		return 1;
	case KEY_ALLOW_ROOT:
		o->allow_root = 1;
		return 1;
	case KEY_SQUASH_UID:
		return parse_long(o, arg, 0, UINT32_MAX - 1, &o->squash_uid);
	case KEY_SQUASH_GID:
		return parse_long(o, arg, 0, UINT32_MAX - 1, &o->squash_gid);
	case KEY_FSYNC: {
		long v;

		if (parse_long(o, arg, 0, 1, &v) < 0)
			return -1;
		o->nosync = v == 0;
		return 0;
	}
	case KEY_XATTR_PERMS: {
		long v;

		if (parse_long(o, arg, 0, 2, &v) < 0)
			return -1;
		o->xattr_permissions = (int)v;
		return 0;
	}
	case KEY_REDIRECT_DIR:
		if (strcmp(arg, "redirect_dir=off") != 0) {
			vn_opts_bad(o, "'%s' is not supported: only redirect_dir=off",
				arg);
			return -1;
		}
		return 0;
	case KEY_IDLE_THREADS: {
		long v;

		if (parse_long(o, arg, 1, 100000, &v) < 0)
			return -1;
		o->max_idle_threads = (unsigned int)v;
		return 0;
	}
	case KEY_WHITEOUT:
		if (strcmp(arg, "whiteout=files") == 0)
			o->wh_files = 1;
		else if (strcmp(arg, "whiteout=devices") == 0)
			o->wh_files = 0;
		else {
			vn_opts_bad(o, "bad value in '%s': expected devices or "
				       "files", arg);
			return -1;
		}
		return 0;
	}
	return 1;
}

int vn_opts_parse(struct fuse_args *args, struct vn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cache = VN_CACHE_AUTO;
	o->default_permissions = 1;
	o->passthrough = 1;
	o->max_idle_threads = 10;
	o->squash_uid = o->squash_gid = -1;
	if (vn_take_raw_opts(args, o) < 0)
		return -1;
	if (fuse_opt_parse(args, o, vn_opt_spec, opt_proc) == -1) {
		vn_opts_bad(o, "invalid command line");
		return -1;
	}
	return 0;
}

int vn_opts_check_dir(struct vn_opts *o, const char *what, char **path)
{
	struct stat st;
	char *real;

	if (stat(*path, &st) < 0) {
		vn_opts_bad(o, "%s '%s': %s", what, *path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		vn_opts_bad(o, "%s '%s' is not a directory", what, *path);
		return -1;
	}
	real = realpath(*path, NULL);
	if (!real) {
		vn_opts_bad(o, "%s '%s': %s", what, *path, strerror(errno));
		return -1;
	}
	free(*path);
	*path = real;
	return 0;
}

int vn_opts_fuse_fd(const char *mountpoint)
{
	struct stat st;
	char *end;
	long fd;

	if (strncmp(mountpoint, "/dev/fd/", 8) != 0)
		return -1;
	errno = 0;
	fd = strtol(mountpoint + 8, &end, 10);
	if (end == mountpoint + 8 || *end || errno || fd < 0 || fd > INT_MAX)
		return -1;
	/* /dev/fuse is character device 10, 229. */
	if (fstat((int)fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(10, 229))
		return -1;
	return (int)fd;
}

/* -o remount: SOURCE is ignored (mount(8) passes it along) and
 * MOUNTPOINT must be a veneerfs mount. */
static int validate_remount(struct vn_opts *o)
{
	unsigned long flags;
	char type[64];

	if (o->nargs == 1) {
		o->mountpoint = o->source;
		o->source = NULL;
		o->nargs = 2;
	}
	if (o->nargs == 0) {
		vn_opts_bad(o, "missing MOUNTPOINT (see --help)");
		return -1;
	}
	if (vn_opts_check_dir(o, "mountpoint", &o->mountpoint) < 0)
		return -1;
	if (vn_mnt_info(o->mountpoint, &flags, type, sizeof(type)) < 0 ||
	    strcmp(type, "fuse.veneerfs") != 0) {
		vn_opts_bad(o, "remount: '%s' is not a veneerfs mount",
			    o->mountpoint);
		return -1;
	}
	return 0;
}

int vn_opts_validate(struct vn_opts *o)
{
	unsigned long flags;

	if (o->bad[0])
		return -1;
	if (o->remount)
		return validate_remount(o);
	if (o->kernel_opt[0]) {
		vn_opts_bad(o, "'%s' is set by the kernel for a new mount, "
			       "not by an option", o->kernel_opt);
		return -1;
	}
	if (o->overlay && o->nargs == 1) {
		/* Overlay mode takes the mount point alone, as the kernel's
		 * overlay does after "overlay" as the source. */
		o->mountpoint = o->source;
		o->source = strdup("overlay");
		if (!o->source) {
			vn_opts_bad(o, "out of memory");
			return -1;
		}
		o->nargs = 2;
	}
	if (o->nargs == 0) {
		vn_opts_bad(o, o->overlay ? "missing MOUNTPOINT (see --help)"
					  : "missing SOURCE and MOUNTPOINT "
					    "(see --help)");
		return -1;
	}
	if (o->nargs == 1) {
		vn_opts_bad(o, "missing MOUNTPOINT (see --help)");
		return -1;
	}
	if (o->writeback && o->cache == VN_CACHE_NEVER) {
		vn_opts_bad(o, "writeback needs the page cache: it cannot be "
			   "combined with cache=never");
		return -1;
	}
	if (o->writeback && o->passthrough) {
		vn_opts_bad(o, "writeback and passthrough exclude each other "
			       "(the kernel takes one or the other): add "
			       "nopassthrough for writeback");
		return -1;
	}
	if (vn_overlay_validate(o) < 0)
		return -1;
	/* In overlay mode SOURCE only names the mount. */
	if (!o->overlay && vn_opts_check_dir(o, "source", &o->source) < 0)
		return -1;
	if (vn_opts_fuse_fd(o->mountpoint) >= 0)
		return 0; /* mounted already, by whoever opened the fd */
	if (vn_opts_check_dir(o, "mountpoint", &o->mountpoint) < 0)
		return -1;
	if (vn_mnt_info(o->mountpoint, &flags, NULL, 0) == 0) {
		vn_opts_bad(o, "mountpoint '%s' is already a mount point",
			o->mountpoint);
		return -1;
	}
	return 0;
}

/* How long the kernel may trust names and attributes. An overlay's layers
 * change only through the mount (the kernel's overlayfs makes the same
 * demand), so every change passes the kernel, which updates its caches:
 * with cache=auto they are kept as long as with cache=always. SOURCE in
 * passthrough mode may change behind the mount's back: one second. */
static double cache_default(const struct vn_opts *o)
{
	switch (o->cache) {
	case VN_CACHE_NEVER:
		return 0;
	case VN_CACHE_ALWAYS:
		return 86400;
	default:
		return o->overlay ? 86400 : 1;
	}
}

double vn_opts_entry_timeout(const struct vn_opts *o)
{
	if (o->entry_timeout_set)
		return o->entry_timeout;
	/* Without default_permissions the kernel checks no search
	 * permission on a cached path: every walk must reach the daemon,
	 * which resolves names as the caller. */
	if (!o->default_permissions)
		return 0;
	return cache_default(o);
}

double vn_opts_attr_timeout(const struct vn_opts *o)
{
	return o->attr_timeout_set ? o->attr_timeout : cache_default(o);
}

void vn_opts_help(const char *progname)
{
	printf("usage: %s [options] SOURCE MOUNTPOINT\n"
	       "       %s -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR]"
	       " MOUNTPOINT\n\n"
	       "Mount the directory SOURCE at MOUNTPOINT, forwarding every\n"
	       "operation to it; or merge a writable upper directory over\n"
	       "read-only lower ones (the kernel's overlayfs format).\n\n"
	       "general options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print the version and exit\n"
	       "    -f                     stay in the foreground\n"
	       "    -d, -o debug           foreground, print each request\n"
	       "    -s                     single-threaded\n"
	       "    -o OPT[,OPT...]        mount options, below\n\n"
	       "veneerfs options:\n"
	       "    -o cache=never|auto|always\n"
	       "                           kernel caching (default: auto)\n"
	       "    -o attr_timeout=SECS   attribute cache time\n"
	       "    -o entry_timeout=SECS  name cache time\n"
	       "    -o passthrough         the kernel reads and writes the\n"
	       "                           real files itself (default)\n"
	       "    -o nopassthrough       file data through the daemon\n"
	       "    -o writeback           kernel writeback cache (with\n"
	       "                           nopassthrough)\n"
	       "    -o noxattr             no extended attributes\n"
	       "    -o nodefault_permissions\n"
	       "                           leave permission checks to SOURCE\n"
	       "    -o clone_fd            one /dev/fuse fd per thread\n"
	       "    -o max_idle_threads=N  idle worker threads kept (10)\n\n"
	       "overlay options:\n"
	       "    -o lowerdir=DIR[:DIR...]  read-only layers, top first\n"
	       "                           (\\: is a colon in a name)\n"
	       "    -o upperdir=DIR        the writable layer (else read-only)\n"
	       "    -o workdir=DIR         scratch space on upperdir's fs\n"
	       "    -o userxattr           user.overlay.* xattrs\n"
	       "    -o squash_to_root, squash_to_uid=N, squash_to_gid=N\n"
	       "                           present every file as owned by them\n"
	       "    -o uidmapping=IN:OUT:LEN[:...], gidmapping=...\n"
	       "                           ids on the mount vs. ids on disk\n"
	       "    -o volatile, fsync=0   never sync the upper layer\n"
	       "    -o noacl               no POSIX ACLs\n"
	       "    -o static_nlink        directories report 1 link\n"
	       "    -o whiteout=devices|files\n"
	       "                           whiteouts made as 0/0 devices (where\n"
	       "                           allowed) or as .wh. files\n"
	       "    -o xattr_permissions=0|1|2\n"
	       "                           owner and mode kept in an xattr\n"
	       "                           (1: security.*, 2: user.containers.*)\n"
	       "    -o redirect_dir=off, context=...  accepted\n\n"
	       "common mount options:\n"
	       "    -o allow_other         serve every user (root's default)\n"
	       "    -o noallow_other       serve the mounting user alone\n"
	       "    -o allow_root, auto_unmount, fsname=NAME, subtype=NAME,\n"
	       "       max_read=N, default_permissions (on by default)\n"
	       "    -o blksize=N           st_blksize shown (512 to 1 MiB)\n"
	       "    -o ro, rw, nosuid, nodev, noexec, sync, dirsync, noatime,\n"
	       "       relatime, strictatime, nodiratime, lazytime,\n"
	       "       nosymfollow, ...  mount(8)'s flags\n"
	       "    -o remount,FLAGS       change a mounted veneerfs's flags\n\n"
	       "See veneerfs(1) for what each cache mode promises.\n",
	       progname, progname);
}

void vn_opts_free(struct vn_opts *o)
{
	free(o->source);
	free(o->mountpoint);
	o->source = o->mountpoint = NULL;
	vn_free_layers(o->lowers, o->nlowers);
	o->lowers = NULL;
	o->nlowers = 0;
	free(o->upperdir);
	free(o->workdir);
	o->upperdir = o->workdir = NULL;
}
