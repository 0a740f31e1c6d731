/* The whiteout format's names: pure logic, see whiteout.h. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "whiteout.h"

bool vn_wh_reserved(const char *name)
{
	return strncmp(name, VN_WH_PREFIX, strlen(VN_WH_PREFIX)) == 0;
}

const char *vn_wh_hidden(const char *name)
{
	const char *rest = name + strlen(VN_WH_PREFIX);

	if (!vn_wh_reserved(name) || strcmp(name, VN_WH_OPAQUE) == 0 ||
	    !*rest || strcmp(rest, ".") == 0 || strcmp(rest, "..") == 0)
		return NULL;
	return rest;
}

bool vn_wh_is_dev(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}
