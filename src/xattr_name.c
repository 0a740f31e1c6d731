/* Pure predicates on xattr names: see xattr_name.h. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "xattr_name.h"

bool vn_xname_private(const char *prefix, const char *name)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

const char *vn_xname_override(int mode)
{
	switch (mode) {
	case 1:
		return "security.fuseoverlayfs.override_stat";
	case 2:
		return "user.containers.override_stat";
	default:
		return NULL;
	}
}

bool vn_xname_must_copy(const char *name)
{
	return strcmp(name, "system.posix_acl_access") == 0 ||
	       strcmp(name, "system.posix_acl_default") == 0 ||
	       strcmp(name, "security.capability") == 0;
}
