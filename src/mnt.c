/* mount(8)'s flag options and /proc/self/mountinfo.
 *
 * libfuse 3.14 passes only ro/rw, (no)suid, (no)dev, (no)exec, sync/async,
 * dirsync and (no)atime to mount(2). The rest of what mount(8) and fstab
 * pass (relatime, strictatime, nodiratime, lazytime, nosymfollow...) is
 * applied by veneerfs right after the mount with a remount, and `-o
 * remount,...` (which mount(8) hands to the helper) is the same call on an
 * existing mount. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "mnt.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

#define ATIME_BITS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

/* One flag option: the bits it sets and the bits it clears. */
struct mflag {
	const char *name;
	unsigned long set;
	unsigned long clear;
};

/* As mount(8) has them: each sets or clears its own bit; of the atime
 * ones the kernel then takes strictatime over noatime over relatime. */
static const struct mflag mflags[] = {
	{ "ro", MS_RDONLY, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },
	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 },
	{ "atime", 0, MS_NOATIME },
	{ "relatime", MS_RELATIME, 0 },
	{ "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "nostrictatime", 0, MS_STRICTATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME },
	{ "lazytime", MS_LAZYTIME, 0 },
	{ "nolazytime", 0, MS_LAZYTIME },
	{ "nosymfollow", MS_NOSYMFOLLOW, 0 },
	{ "symfollow", 0, MS_NOSYMFOLLOW },
	/* Accepted and without effect, as for every filesystem. */
	{ "nomand", 0, 0 },
	{ "noiversion", 0, 0 },
	{ "silent", 0, 0 },
	{ "loud", 0, 0 },
};

/* The ones libfuse passes to mount(2) itself, with its names. */
static const struct {
	unsigned long bit;
	const char *on;
	const char *off;
} libfuse_flags[] = {
	{ MS_RDONLY, "ro", "rw" },
	{ MS_NOSUID, "nosuid", "suid" },
	{ MS_NODEV, "nodev", "dev" },
	{ MS_NOEXEC, "noexec", "exec" },
	{ MS_SYNCHRONOUS, "sync", "async" },
	{ MS_DIRSYNC, "dirsync", NULL },
	{ MS_NOATIME, "noatime", "atime" },
};

int vn_mflags_parse(struct vn_mflags *m, const char *arg, char *why,
		    size_t size)
{
	size_t i;

	if (strcmp(arg, "mand") == 0) {
		snprintf(why, size, "'mand': mandatory locks are not supported "
				    "by this kernel");
		return -1;
	}
	if (strcmp(arg, "iversion") == 0) {
		snprintf(why, size, "'iversion': FUSE filesystems keep no "
				    "i_version");
		return -1;
	}
	for (i = 0; i < sizeof(mflags) / sizeof(mflags[0]); i++) {
		if (strcmp(arg, mflags[i].name) != 0)
			continue;
		m->set = (m->set & ~mflags[i].clear) | mflags[i].set;
		m->clear = (m->clear & ~mflags[i].set) | mflags[i].clear;
		return 1;
	}
	return 0;
}

unsigned long vn_mflags_apply(const struct vn_mflags *m, unsigned long cur)
{
	unsigned long r = (cur & ~m->clear) | m->set, atime;

	/* The one atime mode the kernel makes of them; none at all (after
	 * "noatime,atime") is its default, relatime. */
	if (r & MS_STRICTATIME)
		atime = MS_STRICTATIME;
	else if (r & MS_NOATIME)
		atime = MS_NOATIME;
	else
		atime = MS_RELATIME;
	return (r & ~ATIME_BITS) | atime;
}

void vn_mflags_libfuse(const struct vn_mflags *m, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(libfuse_flags) / sizeof(libfuse_flags[0]); i++) {
		const char *name = NULL;

		if (m->set & libfuse_flags[i].bit)
			name = libfuse_flags[i].on;
		else if (m->clear & libfuse_flags[i].bit)
			name = libfuse_flags[i].off;
		if (name && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? "," : "", name);
	}
}

/* Split line at spaces into at most max fields (in place). */
static int split(char *line, char **f, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(line, " \n", &save); tok && n < max;
	     tok = strtok_r(NULL, " \n", &save))
		f[n++] = tok;
	return n;
}

/* Undo mountinfo's octal escapes (\040 for a space...). */
static void unescape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	while (*in && n + 1 < size) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			out[n++] = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 |
					  (in[3] - '0'));
			in += 4;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
}

/* Does the comma-separated list opts hold name? */
static bool has_opt(const char *opts, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = opts; (p = strstr(p, name)); p += len)
		if ((p == opts || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

static unsigned long mount_opt_flags(const char *mopts, const char *sopts)
{
	static const struct {
		const char *name;
		unsigned long bit;
	} mnt[] = {
		{ "ro", MS_RDONLY },	     { "nosuid", MS_NOSUID },
		{ "nodev", MS_NODEV },	     { "noexec", MS_NOEXEC },
		{ "noatime", MS_NOATIME },   { "relatime", MS_RELATIME },
		{ "nodiratime", MS_NODIRATIME },
		{ "nosymfollow", MS_NOSYMFOLLOW },
	}, sb[] = {
		{ "ro", MS_RDONLY },	      { "sync", MS_SYNCHRONOUS },
		{ "dirsync", MS_DIRSYNC },    { "lazytime", MS_LAZYTIME },
		{ "mand", MS_MANDLOCK },
	};
	unsigned long flags = 0;
	size_t i;

	for (i = 0; i < sizeof(mnt) / sizeof(mnt[0]); i++)
		if (has_opt(mopts, mnt[i].name))
			flags |= mnt[i].bit;
	for (i = 0; sopts && i < sizeof(sb) / sizeof(sb[0]); i++)
		if (has_opt(sopts, sb[i].name))
			flags |= sb[i].bit;
	if (!(flags & (MS_NOATIME | MS_RELATIME)))
		flags |= MS_STRICTATIME;
	return flags;
}

int vn_mountinfo_line(const char *line, char *mnt, size_t size,
		      unsigned long *flags, char *type, size_t tsize)
{
	char buf[PATH_MAX * 4], *f[64];
	int n, i;

	if (strlen(line) >= sizeof(buf))
		return -1;
	strcpy(buf, line);
	n = split(buf, f, 64);
	/* id parent dev root mountpoint options [optional...] - type source
	 * superoptions */
	for (i = 6; i < n && strcmp(f[i], "-") != 0; i++)
		;
	if (n < 6 || i + 2 >= n)
		return -1;
	unescape(f[4], mnt, size);
	*flags = mount_opt_flags(f[5], i + 3 < n ? f[i + 3] : NULL);
	snprintf(type, tsize, "%s", f[i + 1]);
	return 0;
}

int vn_mnt_info(const char *path, unsigned long *flags, char *type,
		size_t tsize)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[PATH_MAX * 4], mnt[PATH_MAX], t[64];
	unsigned long fl;
	int err = -ENOENT;

	if (!f)
		return -errno;
	/* Later lines are mounts made on top of earlier ones. */
	while (fgets(line, sizeof(line), f)) {
		if (vn_mountinfo_line(line, mnt, sizeof(mnt), &fl, t,
				      sizeof(t)) < 0 ||
		    strcmp(mnt, path) != 0)
			continue;
		*flags = fl;
		if (type)
			snprintf(type, tsize, "%s", t);
		err = 0;
	}
	fclose(f);
	return err;
}

int vn_mnt_remount(const char *path, const struct vn_mflags *m, bool always)
{
	unsigned long cur, want;
	int err = vn_mnt_info(path, &cur, NULL, 0);

	if (err)
		return err;
	want = vn_mflags_apply(m, cur);
	if (want == cur && !always)
		return 0;
	/* MS_STRICTATIME is not a state mountinfo shows but the absence of
	 * the other two: it must be passed to keep it. */
	if (mount(NULL, path, NULL, MS_REMOUNT | want, NULL) < 0)
		return -errno;
	return 0;
}

bool vn_mnt_noatime(const char *path, bool dirs)
{
	unsigned long flags;

	if (vn_mnt_info(path, &flags, NULL, 0) < 0)
		return false;
	return (flags & MS_NOATIME) || (dirs && (flags & MS_NODIRATIME));
}
