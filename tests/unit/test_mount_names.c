/* Unit tests for the pure name logic of mnt.c (mount(8)'s flag options,
 * mountinfo lines) and xattr_name.c (overlay's own xattrs, the override,
 * what copy-up must keep). */
#include "config.h"

#include <string.h>
#include <sys/mount.h>

#include "check.h"
#include "mnt.h"
#include "xattr_name.h"

#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* The flags a remount passes after opts on a mount whose flags are cur. */
static unsigned long applied(const char *opts, unsigned long cur)
{
	struct vn_mflags m = { 0, 0 };
	char buf[256], why[128], *tok, *save;

	strcpy(buf, opts);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		CHECK(vn_mflags_parse(&m, tok, why, sizeof(why)) == 1);
	return vn_mflags_apply(&m, cur);
}

static void test_mflags(void)
{
	struct vn_mflags m = { 0, 0 };
	char why[128], lib[128];
	const unsigned long base = MS_NOSUID | MS_NODEV | MS_RELATIME;

	/* Not a flag option: left to the others. */
	CHECK(vn_mflags_parse(&m, "cache=auto", why, sizeof(why)) == 0);
	CHECK(vn_mflags_parse(&m, "mand", why, sizeof(why)) == -1);
	CHECK(strstr(why, "mandatory") != NULL);
	CHECK(vn_mflags_parse(&m, "iversion", why, sizeof(why)) == -1);
	/* The kernel's atime rules: strictatime over noatime over
	 * relatime, and none at all is relatime. */
	CHECK(applied("strictatime", base) ==
	      (MS_NOSUID | MS_NODEV | MS_STRICTATIME));
	CHECK(applied("noatime,relatime", base) ==
	      (MS_NOSUID | MS_NODEV | MS_NOATIME));
	CHECK(applied("noatime,atime", base) == base);
	CHECK(applied("atime", MS_NOATIME) == MS_RELATIME);
	CHECK(applied("nostrictatime", MS_STRICTATIME) == MS_RELATIME);
	CHECK(applied("suid,dev", base) == MS_RELATIME);
	CHECK(applied("ro,lazytime,nosymfollow,nodiratime", base) ==
	      (base | MS_RDONLY | MS_LAZYTIME | MS_NOSYMFOLLOW |
	       MS_NODIRATIME));
	CHECK(applied("ro,rw", base | MS_RDONLY) == base);
	/* Unchanged: nothing to remount. */
	CHECK(applied("nomand,silent,relatime", base) == base);
	/* What libfuse is given: its own names only. */
	m.set = m.clear = 0;
	CHECK(vn_mflags_parse(&m, "ro", why, sizeof(why)) == 1);
	CHECK(vn_mflags_parse(&m, "suid", why, sizeof(why)) == 1);
	CHECK(vn_mflags_parse(&m, "strictatime", why, sizeof(why)) == 1);
	CHECK(vn_mflags_parse(&m, "noatime", why, sizeof(why)) == 1);
	vn_mflags_libfuse(&m, lib, sizeof(lib));
	CHECK(strcmp(lib, "ro,suid,noatime") == 0);
}

static void test_mountinfo(void)
{
	char mnt[256], type[64];
	unsigned long fl;

	CHECK(vn_mountinfo_line("36 35 98:0 / /mnt/my\\040data rw,nosuid,"
				"nodev,relatime shared:1 - fuse.veneerfs /srv "
				"rw,lazytime,user_id=0,group_id=0\n",
				mnt, sizeof(mnt), &fl, type,
				sizeof(type)) == 0);
	CHECK(strcmp(mnt, "/mnt/my data") == 0);
	CHECK(strcmp(type, "fuse.veneerfs") == 0);
	CHECK(fl == (MS_NOSUID | MS_NODEV | MS_RELATIME | MS_LAZYTIME));
	/* No atime flag shown: strictatime. Per-mount ro or the
	 * superblock's both make it read-only. */
	CHECK(vn_mountinfo_line("1 2 0:1 / /x ro,noexec - tmpfs t rw\n", mnt,
				sizeof(mnt), &fl, type, sizeof(type)) == 0);
	CHECK(fl == (MS_RDONLY | MS_NOEXEC | MS_STRICTATIME));
	CHECK(vn_mountinfo_line("1 2 0:1 / /x rw,noatime,nodiratime - ext4 d "
				"ro,sync,dirsync\n", mnt, sizeof(mnt), &fl,
				type, sizeof(type)) == 0);
	CHECK(fl == (MS_RDONLY | MS_NOATIME | MS_NODIRATIME | MS_SYNCHRONOUS |
		     MS_DIRSYNC));
	/* "relatime" is not "norelatime"'s prefix match. */
	CHECK(vn_mountinfo_line("1 2 0:1 / /x rw,xrelatime - t s rw\n", mnt,
				sizeof(mnt), &fl, type, sizeof(type)) == 0);
	CHECK(fl == MS_STRICTATIME);
	CHECK(vn_mountinfo_line("1 2 0:1 / /x rw\n", mnt, sizeof(mnt), &fl,
				type, sizeof(type)) == -1);
	CHECK(vn_mountinfo_line("garbage", mnt, sizeof(mnt), &fl, type,
				sizeof(type)) == -1);
}

static void test_xattr_names(void)
{
	CHECK(vn_xname_private("trusted.overlay.", "trusted.overlay.opaque"));
	CHECK(vn_xname_private("trusted.overlay.", "trusted.overlay.vn.ino"));
	CHECK(!vn_xname_private("trusted.overlay.", "trusted.overlayx"));
	CHECK(!vn_xname_private("trusted.overlay.", "user.overlay.opaque"));
	CHECK(vn_xname_private("user.overlay.", "user.overlay.opaque"));
	CHECK(vn_xname_override(0) == NULL);
	CHECK(strcmp(vn_xname_override(1),
		     "security.fuseoverlayfs.override_stat") == 0);
	CHECK(strcmp(vn_xname_override(2), "user.containers.override_stat") ==
	      0);
	CHECK(vn_xname_override(3) == NULL);
	CHECK(vn_xname_must_copy("security.capability"));
	CHECK(vn_xname_must_copy("system.posix_acl_access"));
	CHECK(vn_xname_must_copy("system.posix_acl_default"));
	CHECK(!vn_xname_must_copy("security.selinux"));
	CHECK(!vn_xname_must_copy("user.x"));
	CHECK(!vn_xname_must_copy("trusted.x"));
}

int main(void)
{
	test_mflags();
	test_mountinfo();
	test_xattr_names();
	return check_done("test_mount_names");
}
