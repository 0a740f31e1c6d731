/* Command line and -o options: parsing, defaults, validation, --help. */
#ifndef VN_OPTIONS_H
#define VN_OPTIONS_H

#include <stdbool.h>

struct fuse_args;

enum vn_cache { VN_CACHE_NEVER, VN_CACHE_AUTO, VN_CACHE_ALWAYS };

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
	int noxattr;
	int default_permissions; /* on unless nodefault_permissions */
	int allow_other;
	int ro;
	int show_help;
	int show_version;
	int foreground;
	int debug;
	int singlethread;
	int clone_fd;
	unsigned int max_idle_threads;
	char *bad;		/* first error message, if parsing failed */
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

/* Free strings owned by o. */
void vn_opts_free(struct vn_opts *o);

#endif
