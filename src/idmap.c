/* Id maps: see idmap.h. */
#include "config.h"

#include "idmap.h"

#define VN_OVERFLOW_ID 65534

unsigned int vn_idmap_in(const struct vn_idmap *map, int n, unsigned int id)
{
	int i;

	if (n == 0)
		return id;
	for (i = 0; i < n; i++)
		if (id >= map[i].outer && id - map[i].outer < map[i].len)
			return map[i].inner + (id - map[i].outer);
	return VN_OVERFLOW_ID;
}

unsigned int vn_idmap_out(const struct vn_idmap *map, int n, unsigned int id)
{
	int i;

	for (i = 0; i < n; i++)
		if (id >= map[i].inner && id - map[i].inner < map[i].len)
			return map[i].outer + (id - map[i].inner);
	return id;
}
