/* Overlay mode's options (overlay_opts.c). */
#ifndef VN_OVERLAY_OPTS_H
#define VN_OVERLAY_OPTS_H

#include "options.h"

struct fuse_args;

/* Lower directories a mount may stack. */
#define VN_MAX_LOWERS 500

/* Split a lowerdir= value at colons; a backslash takes the next character
 * literally ("\:" is a colon within a name). Returns the number of
 * directories, with *out a malloc'ed array of malloc'ed strings, or -1 on
 * an empty element or ENOMEM. */
int vn_split_layers(const char *value, char ***out);
void vn_free_layers(char **list, int n);

/* Parse "IN:OUT:LEN[:IN2:OUT2:LEN2...]" (commas also separate ranges,
 * and one leading colon is allowed) into map. Returns the number of
 * ranges, or -1 if malformed. */
int vn_parse_idmap(const char *value, struct vn_idmap *map, int max);

/* Take lowerdir=, upperdir=, workdir=, uidmapping= and gidmapping= out of
 * the -o lists of args, before fuse_opt (which drops backslashes) parses
 * the rest. Returns 0, or -1 with o->bad set. */
int vn_take_raw_opts(struct fuse_args *args, struct vn_opts *o);

/* The overlay checks made before mounting: the layer directories exist,
 * upperdir and workdir go together on one filesystem and neither contains
 * the other, no lowerdir overlaps them. Paths are resolved in place.
 * Returns 0, or -1 with o->bad set. */
int vn_overlay_validate(struct vn_opts *o);

#endif
