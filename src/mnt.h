/* mount(8)'s own options: the flags of the mount itself (ro, nosuid,
 * noatime, lazytime...), read back from /proc/self/mountinfo, and applied
 * with mount(2) where libfuse cannot express them, or at a remount.
 *
 * No libfuse: tests/unit links this file directly. */
#ifndef VN_MNT_H
#define VN_MNT_H

#include <stdbool.h>
#include <stddef.h>

/* The MS_* flags mount(8) options name, in the order they were given:
 * each option sets or clears bits, the last one wins. */
struct vn_mflags {
	unsigned long set;
	unsigned long clear;
};

/* If arg is one of mount(8)'s flag options, record it in m and return 1;
 * return 0 if it is not one, or -1 for one this kernel refuses for FUSE
 * (mand, iversion), with a one-line reason in why (size bytes). */
int vn_mflags_parse(struct vn_mflags *m, const char *arg, char *why,
		    size_t size);

/* The flags a remount must pass so that m applies to a mount whose flags
 * are cur (as vn_mnt_info gives them). */
unsigned long vn_mflags_apply(const struct vn_mflags *m, unsigned long cur);

/* The option names libfuse understands for the flags m names, comma
 * separated ("ro,nosuid,noatime"), into buf; "" if none. */
void vn_mflags_libfuse(const struct vn_mflags *m, char *buf, size_t size);

/* Read one line of /proc/self/mountinfo: its mount point (unescaped) into
 * mnt (size bytes), its flags as MS_* bits (MS_STRICTATIME where neither
 * noatime nor relatime is set) and its type ("fuse.veneerfs") into type
 * (tsize bytes). Returns 0, or -1 if the line is malformed. */
int vn_mountinfo_line(const char *line, char *mnt, size_t size,
		      unsigned long *flags, char *type, size_t tsize);

/* The topmost mount at path (resolved): its flags and type. Returns 0,
 * -ENOENT if path is not a mount point, or -errno. */
int vn_mnt_info(const char *path, unsigned long *flags, char *type,
		size_t tsize);

/* Make the mount at path have m's flags, on top of the ones it has:
 * mount(2) with MS_REMOUNT, which changes the superblock's flags (ro,
 * sync, dirsync, lazytime) and the mount's (nosuid, nodev, noexec, the
 * atime ones, nosymfollow). Nothing is done when nothing changes unless
 * always is set. Returns 0 or -errno. */
int vn_mnt_remount(const char *path, const struct vn_mflags *m, bool always);

/* Does the mount at path have noatime (or, with dirs, nodiratime)?
 * false when it cannot be told. */
bool vn_mnt_noatime(const char *path, bool dirs);

#endif
