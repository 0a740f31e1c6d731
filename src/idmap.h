/* uidmapping= and gidmapping=: ids on the mount <-> ids on disk. Pure
 * functions, unit tested. */
#ifndef VN_IDMAP_H
#define VN_IDMAP_H

#include "options.h"

/* The id the mount shows for id on disk: mapped, or the overflow id 65534
 * when the map does not cover it (as in a user namespace). An empty map
 * (n == 0) maps every id to itself. */
unsigned int vn_idmap_in(const struct vn_idmap *map, int n, unsigned int id);

/* The id stored on disk for id given on the mount: mapped, or id itself
 * when the map does not cover it. */
unsigned int vn_idmap_out(const struct vn_idmap *map, int n, unsigned int id);

#endif
