# Differential harness for overlay mode. Load after helpers:
#
#	load helpers
#	load overlay
#
# Every scenario runs the same steps on a veneerfs overlay mount ($VM) and
# on the kernel's overlayfs ($KM) over the same lower layers, and compares
# what both show (ov_diff, ov_expect, ov_tree). Each side has its own copy
# of the upper layer and its own workdir, since the kernel does not share
# them with another mount; the lower layers are shared (read only).
#
# Variables set by ov_setup:
#   WORK          the test's work dir, on $TMPDIR (ext4)
#   L1 L2 L3      lower layers, for the scenario to fill; $L1 is on top
#   U             the upper layer as the scenario prepares it; each
#                 ov_mount_both copies it to $VU and $KU
#   VM KM         the veneerfs and the kernel mountpoints
#   VU VW KU KW   the upper and work dirs of each side
#   OV_VPID       the daemon's pid while mounted
# Variables read:
#   OV_SELF_TEST  when 1, both sides are kernel overlay mounts. This checks
#                 the harness and the scenarios against the kernel alone;
#                 tests of what only veneerfs does are skipped then.
#
# Layers may hold fuse-overlayfs' markers (.wh.NAME whiteout files and
# .wh..wh..opq opaque markers). veneerfs reads them; the kernel does not, so
# ov_mount_both gives the kernel side copies of such layers in the kernel's
# own format (char 0/0 whiteouts, overlay.opaque xattrs), which must show
# the same tree.

ov_setup() {
	export LC_ALL=C
	umask 022
	[ "$(id -u)" -eq 0 ] || vn_skip "needs root"
	[ -c /dev/fuse ] || vn_skip "needs /dev/fuse"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		true
	grep -qw overlay /proc/filesystems || vn_skip "needs kernel overlayfs"
	local tool
	for tool in python3 getfattr setfattr mountpoint timeout; do
		command -v $tool >/dev/null || vn_skip "needs $tool"
	done
	# the interpreter itself, not a wrapper script that finds it each time
	OV_PY=$(python3 -c 'import sys; print(sys.executable)')
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ovtest.XXXXXX")
	chmod 755 "$WORK"
	L1=$WORK/l1
	L2=$WORK/l2
	L3=$WORK/l3
	U=$WORK/u
	VM=$WORK/vm
	KM=$WORK/km
	VU=$WORK/vu
	VW=$WORK/vw
	KU=$WORK/ku
	KW=$WORK/kw
	mkdir -p "$L1" "$L2" "$L3" "$U" "$VM" "$KM"
	chmod 755 "$L1" "$L2" "$L3" "$U" "$VM" "$KM"
	OV_VPID=
	OV_LOWERS= OV_KLOWERS= OV_OPTS= OV_VOPTS= OV_KOPTS= OV_UPPER=
	OV_SOURCE=
}

# Skip a test of something only veneerfs does (or where the kernel is known
# to behave otherwise) when both sides are the kernel.
# Every overlay_*.bats file sets up and tears down alike; a file that
# needs more defines its own teardown calling ov_teardown.
setup() {
	ov_setup
}

teardown() {
	ov_teardown
}

ov_veneerfs_only() {
	if [ "${OV_SELF_TEST:-}" = 1 ]; then
		skip "veneerfs only ($*): not checked by OV_SELF_TEST"
	fi
}

# ov_tmpfs DIR: mount a tmpfs on DIR (made if missing) for this test.
ov_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o mode=0755 tmpfs "$1"
}

# The lowerdir list as paths, one per line, with "\:" unescaped.
_ov_split_lowers() {
	local s=${1//\\:/$'\x01'} l
	local -a parts
	IFS=: read -r -a parts <<<"$s"
	for l in "${parts[@]}"; do
		printf '%s\n' "${l//$'\x01'/:}"
	done
}

# _ov_convert_wh DIR NS: rewrite fuse-overlayfs markers in DIR into the
# kernel's format, with opaque xattrs in the NS (trusted or user) namespace.
_ov_convert_wh() {
	local dir=$1 ns=$2 m parent name
	while IFS= read -r -d '' m; do
		parent=${m%/*}
		name=${m##*/}
		rm -f -- "$m"
		if [ "$name" = .wh..wh..opq ]; then
			setfattr -n "$ns.overlay.opaque" -v y -- "$parent" || return 1
		else
			rm -rf -- "${parent:?}/${name#.wh.}"
			mknod -- "$parent/${name#.wh.}" c 0 0 || return 1
		fi
	done < <(find "$dir" -depth -name '.wh.*' -print0)
}

_ov_has_wh() {
	[ -n "$(find "$1" -name '.wh.*' -print -quit)" ]
}

# _ov_kernel_lowers LOWERS NS SIDE: the lowerdir list for a kernel mount:
# layers with fuse-overlayfs markers are replaced by converted copies.
_ov_kernel_lowers() {
	local lowers=$1 ns=$2 side=$3 out= l n=0 c any=
	while IFS= read -r l; do
		n=$((n + 1))
		if _ov_has_wh "$l"; then
			c=$WORK/conv-$side-$n
			rm -rf "$c"
			cp -a -- "$l" "$c" || return 1
			_ov_convert_wh "$c" "$ns" || return 1
			l=$c
			any=1
		fi
		out="$out${out:+:}${l//:/\\:}"
	done < <(_ov_split_lowers "$lowers")
	if [ -n "$any" ]; then
		printf '%s' "$out"
	else
		printf '%s' "$lowers"
	fi
}

# _ov_wait_mounted MNT PID: wait until MNT is a mount point, or fail at once
# if the daemon PID has exited (or after about 10 seconds).
_ov_wait_mounted() {
	local i
	for i in $(seq 1 200); do
		mountpoint -q "$1" && return 0
		if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
			echo "the daemon exited before $1 was mounted" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "timed out waiting for $1 to be mounted" >&2
	return 1
}

# _ov_kmount MNT OPTS: a kernel overlay mount (its source: $OV_SOURCE or
# "overlay").
_ov_kmount() {
	local out
	out=$(mount -t overlay "${OV_SOURCE:-overlay}" -o "$2" "$1" 2>&1) || {
		echo "kernel overlay mount on $1 failed: $out" >&2
		echo "  options: $2" >&2
		return 1
	}
}

# The kernel's own options: the defaults of this kernel made explicit, so
# that a different module default does not change the reference. With
# userxattr the kernel wants redirect_dir=nofollow, its default then.
OV_KERNEL_DEFAULTS=redirect_dir=off,index=off,metacopy=off
_ov_kernel_defaults() {
	case ",$1," in
	*,userxattr,*) echo index=off,metacopy=off ;;
	*) echo "$OV_KERNEL_DEFAULTS" ;;
	esac
}

_ov_is_self_test() {
	[ "${OV_SELF_TEST:-}" = 1 ]
}

# ov_mount_both [-o OPTS] [--vo OPTS] [--ko OPTS] [--lowers L1:L2...]
#               [--klowers L1:L2...] [--no-upper] [--source NAME]
# Copy $U to $VU and $KU (fresh workdirs $VW and $KW), mount veneerfs on $VM
# and the kernel's overlayfs on $KM. -o options go to both sides, --vo only
# to veneerfs, --ko only to the kernel. Lowers default to $L1:$L2:$L3;
# --klowers gives the kernel side other lowers than --lowers. --source
# names the mounts (veneerfs' SOURCE argument, the kernel's mount source).
# veneerfs is mounted with allow_other, as the kernel's overlay is open to
# every user.
ov_mount_both() {
	OV_OPTS= OV_VOPTS= OV_KOPTS= OV_LOWERS="$L1:$L2:$L3" OV_UPPER=1
	OV_KLOWERS= OV_SOURCE=
	while [ $# -gt 0 ]; do
		case $1 in
		-o) OV_OPTS=$2; shift 2 ;;
		--vo) OV_VOPTS=$2; shift 2 ;;
		--ko) OV_KOPTS=$2; shift 2 ;;
		--lowers) OV_LOWERS=$2; shift 2 ;;
		--klowers) OV_KLOWERS=$2; shift 2 ;;
		--no-upper) OV_UPPER=; shift ;;
		--source) OV_SOURCE=$2; shift 2 ;;
		*) echo "ov_mount_both: unknown argument '$1'" >&2; return 2 ;;
		esac
	done
	if [ -n "$OV_UPPER" ]; then
		rm -rf "$VU" "$KU" "$VW" "$KW"
		cp -a -- "$U" "$VU" && cp -a -- "$U" "$KU" || return 1
		mkdir "$VW" "$KW"
		if _ov_has_wh "$KU"; then
			_ov_convert_wh "$KU" "$(_ov_xattr_ns)" || return 1
			if _ov_is_self_test; then
				_ov_convert_wh "$VU" "$(_ov_xattr_ns)" || return 1
			fi
		fi
	fi
	ov_mount_again
}

# The namespace of the overlay xattrs for the current options.
_ov_xattr_ns() {
	case ",$OV_OPTS,$OV_KOPTS," in
	*,userxattr,*) echo user ;;
	*) echo trusted ;;
	esac
}

# _ov_opts SIDE: the option string for side v or k.
_ov_opts() {
	local o="lowerdir=" lowers=$OV_LOWERS
	if [ "$1" = k ] && [ -n "$OV_KLOWERS" ]; then
		lowers=$OV_KLOWERS
	fi
	if [ "$1" = k ] || _ov_is_self_test; then
		lowers=$(_ov_kernel_lowers "$lowers" "$(_ov_xattr_ns)" "$1") ||
			return 1
	fi
	o="$o$lowers"
	if [ -n "$OV_UPPER" ]; then
		if [ "$1" = v ]; then
			o="$o,upperdir=$VU,workdir=$VW"
		else
			o="$o,upperdir=$KU,workdir=$KW"
		fi
	fi
	[ -n "$OV_OPTS" ] && o="$o,$OV_OPTS"
	if [ "$1" = v ] && ! _ov_is_self_test; then
		[ -n "$OV_VOPTS" ] && o="$o,$OV_VOPTS"
	else
		[ -n "$OV_KOPTS" ] && o="$o,$OV_KOPTS"
		o="$o,$(_ov_kernel_defaults "$o")"
	fi
	printf '%s' "$o"
}

# ov_mount_again: mount both sides again on the uppers and workdirs they
# have now (after ov_unmount_both), with the options of ov_mount_both.
ov_mount_again() {
	local vo ko
	vo=$(_ov_opts v) && ko=$(_ov_opts k) || return 1
	if _ov_is_self_test; then
		_ov_kmount "$VM" "$vo" || return 1
	else
		"$VENEERFS" -f -o "allow_other,$vo" ${OV_SOURCE:+"$OV_SOURCE"} \
			"$VM" 2>"$WORK/veneerfs.log" &
		OV_VPID=$!
		_ov_wait_mounted "$VM" "$OV_VPID" || {
			cat "$WORK/veneerfs.log" >&2
			ov_unmount_both >/dev/null 2>&1
			return 1
		}
	fi
	_ov_kmount "$KM" "$ko"
}

# Unmount the veneerfs side and check that the daemon exited with 0.
_ov_unmount_v() {
	local status=0
	if _ov_is_self_test; then
		if mountpoint -q "$VM"; then umount "$VM" || return 1; fi
		return 0
	fi
	[ -n "$OV_VPID" ] || return 0
	if mountpoint -q "$VM"; then
		if [ "${OV_USERNS:-}" = 1 ]; then
			umount "$VM" || return 1
		else
			fusermount3 -u "$VM" || return 1
		fi
	fi
	wait "$OV_VPID" || status=$?
	OV_VPID=
	if [ $status -ne 0 ]; then
		echo "veneerfs exited with $status; its log:" >&2
		cat "$WORK/veneerfs.log" >&2
		return 1
	fi
	vn_no_leaks "$WORK/veneerfs.log"
}

ov_unmount_both() {
	local rc=0
	_ov_unmount_v || rc=1
	if mountpoint -q "$KM"; then umount "$KM" || rc=1; fi
	return $rc
}

# ov_swap: unmount both, then mount veneerfs over the upper and workdir the
# kernel wrote and the kernel over those veneerfs wrote (same lowers and
# options). Calling it again swaps back.
ov_swap() {
	local t
	ov_unmount_both || return 1
	[ -n "$OV_UPPER" ] || { echo "ov_swap: no upper" >&2; return 1; }
	t=$VU VU=$KU KU=$t
	t=$VW VW=$KW KW=$t
	ov_mount_again
}

ov_teardown() {
	local rc=0 t
	cd / || true
	[ -n "${WORK:-}" ] || return 0
	if [ -n "${OV_VPID:-}" ] || _ov_is_self_test; then
		if ! _ov_unmount_v; then
			rc=1
			if [ -n "${OV_VPID:-}" ]; then
				fusermount3 -uz "$VM" 2>/dev/null ||
					umount -l "$VM" 2>/dev/null
				wait "$OV_VPID" 2>/dev/null || true
			else
				umount -l "$VM" 2>/dev/null
			fi
		fi
	fi
	if mountpoint -q "$KM"; then umount "$KM" || umount -l "$KM"; fi
	# anything else a test left mounted under $WORK, deepest first
	findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r |
		while IFS= read -r t; do
			fusermount3 -uz "$t" 2>/dev/null || umount -l "$t"
		done
	rm -rf --one-file-system "$WORK"
	return $rc
}

# _ov_diff_in DIR_A DIR_B CMD...: run CMD in DIR_A, then in DIR_B; both must
# print the same (stdout and stderr together) and exit alike. The common
# output is left in $ov_out.
_ov_diff_in() {
	local a=$1 b=$2 ao bo as=0 bs=0
	shift 2
	ao=$(cd "$a" && "$@" 2>&1) || as=$?
	bo=$(cd "$b" && "$@" 2>&1) || bs=$?
	if [ "$ao" != "$bo" ] || [ "$as" != "$bs" ]; then
		echo "differs: $*" >&2
		if [ "$(printf '%s\n%s' "$ao" "$bo" | wc -l)" -le 80 ]; then
			printf -- '--- %s (exit %s):\n%s\n--- %s (exit %s):\n%s\n' \
				"$a" "$as" "$ao" "$b" "$bs" "$bo" >&2
		else
			echo "exit $as in $a, $bs in $b; diff:" >&2
			diff -u --label "$a" --label "$b" <(printf '%s\n' "$ao") \
				<(printf '%s\n' "$bo") | head -n 200 >&2
		fi
		return 1
	fi
	ov_out=$ao
	ov_status=$as
}

# ov_diff CMD...: run CMD with cwd $VM (veneerfs), then $KM (the kernel).
# Paths in CMD must be relative.
ov_diff() {
	_ov_diff_in "$VM" "$KM" "$@"
}

# ov_ok CMD...: ov_diff, and CMD must succeed (exit 0) on both sides: for
# the steps of a scenario that change the tree.
ov_ok() {
	ov_diff "$@" || return 1
	if [ "$ov_status" -ne 0 ]; then
		printf '%s: exit %s on both sides:\n%s\n' "$*" "$ov_status" \
			"$ov_out" >&2
		return 1
	fi
}

# ov_diff_upper CMD...: the same in the two upper dirs ($VU, $KU), to compare
# what each side wrote to disk; best after ov_unmount_both.
# The merged trees must agree; then, unmounted, the upper layers on disk.
ov_compare_all() {
	ov_diff ov_tree .
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

ov_diff_upper() {
	_ov_diff_in "$VU" "$KU" "$@"
}

# ov_expect EXPECTED SYSCALL ARGS...: vnop on both sides must print EXPECTED.
ov_expect() {
	local want=$1
	shift
	ov_diff "$VNOP" "$@" || return 1
	if [ "$ov_out" != "$want" ]; then
		printf 'vnop %s: expected %s on both, got:\n%s\n' "$*" "$want" \
			"$ov_out" >&2
		return 1
	fi
}

# ov_is OUTPUT EXPECTED: $ov_out (or any string) must equal EXPECTED.
ov_is() {
	if [ "$1" != "$2" ]; then
		printf 'expected:\n%s\ngot:\n%s\n' "$2" "$1" >&2
		return 1
	fi
}

# ov_ino PATH: st_ino of PATH (not following a last symlink). Compare only
# numbers of one side: the two mounts number inodes differently.
ov_ino() {
	stat -c %i -- "$1"
}

# ov_tree [--upper|--fold-wh] [DIR]: one line per object under DIR (itself
# included, as "."), sorted by path: type, mode in octal, uid:gid, link
# count, then size and md5 for regular files, target for symlinks, rdev for
# devices, and xattrs. Directory sizes and all times and inode numbers are
# left out. The xattrs shown are user.*, trusted.*, security.* and the
# POSIX ACLs, and on a mount any *.overlay.* (which must not show).
# --upper describes an upper layer on disk: whiteouts show as "whiteout"
# alone (the kernel shares one inode among them, so link
# counts differ), and of the overlay xattrs only those that change what the
# merged view shows (opaque, redirect, metacopy, whiteout[s]), not the
# kernel's bookkeeping (origin, impure, uuid). --fold-wh is --upper that
# also reads fuse-overlayfs' markers as whiteouts and opaque dirs, for
# where a fallback format is allowed.
ov_tree() {
	"$OV_PY" - "$@" <<'EOF'
import errno, hashlib, os, stat, sys

args = sys.argv[1:]
upper = fold = False
while args and args[0].startswith('--'):
    a = args.pop(0)
    if a == '--upper':
        upper = True
    elif a == '--fold-wh':
        upper = fold = True
    else:
        sys.exit('ov_tree: unknown option ' + a)
top = os.fsencode(args[0] if args else '.')
MEANINGFUL = ('opaque', 'redirect', 'metacopy', 'whiteout', 'whiteouts')
# The xattrs described besides overlay's own: all that a copy must keep.
KEPT = ('user.', 'trusted.', 'security.', 'system.posix_acl_')

def esc(b):
    return repr(bytes(b))[2:-1].replace(' ', '\\x20')

def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))

def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return [], False
        return ['listxattr:' + err(e)], False
    out, opaque = [], False
    for n in sorted(names):
        ov = n.startswith('user.overlay.') or n.startswith('trusted.overlay.')
        if upper and ov and n.split('.', 2)[2] not in MEANINGFUL:
            continue
        if not ov and not n.startswith(KEPT):
            continue
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
        except OSError as e:
            out.append('%s:%s' % (n, err(e)))
            continue
        if fold and ov and n.endswith('.overlay.opaque') and v == b'y':
            opaque = True
            continue
        out.append('%s=%s' % (n, esc(v)))
    return out, opaque

lines = {}

def describe(p, rel, extra_opaque=False):
    try:
        st = os.lstat(p)
    except OSError as e:
        lines[rel] = '%s lstat:%s' % (esc(rel), err(e))
        return None
    m = st.st_mode
    if upper and stat.S_ISCHR(m) and st.st_rdev == 0:
        lines[rel] = esc(rel) + ' whiteout'
        return st
    kind = {stat.S_IFREG: 'reg', stat.S_IFDIR: 'dir', stat.S_IFLNK: 'symlink',
            stat.S_IFIFO: 'fifo', stat.S_IFSOCK: 'sock', stat.S_IFCHR: 'char',
            stat.S_IFBLK: 'block'}.get(stat.S_IFMT(m), 'type%o' % m)
    f = [esc(rel), kind, '%04o' % stat.S_IMODE(m),
         '%d:%d' % (st.st_uid, st.st_gid), 'n%d' % st.st_nlink]
    if stat.S_ISREG(m):
        f.append('s%d' % st.st_size)
        try:
            h = hashlib.md5()
            with open(p, 'rb') as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b''):
                    h.update(chunk)
            f.append('md5=' + h.hexdigest())
        except OSError as e:
            f.append('read:' + err(e))
    elif stat.S_ISLNK(m):
        f.append('s%d' % st.st_size)
        try:
            f.append('->' + esc(os.readlink(p)))
        except OSError as e:
            f.append('readlink:' + err(e))
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        f.append('rdev=%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)))
    xs, opaque = xattrs(p)
    if opaque or extra_opaque:
        f.append('opaque')
    f.extend(xs)
    lines[rel] = ' '.join(f)
    return st

def walk(p, rel):
    try:
        names = sorted(os.listdir(p))
    except OSError as e:
        lines[rel + b'/'] = '%s/ listdir:%s' % (esc(rel), err(e))
        return
    opq = fold and b'.wh..wh..opq' in names
    if opq:
        lines[rel] += ' opaque'
    for n in names:
        if fold and n.startswith(b'.wh.'):
            if n != b'.wh..wh..opq':
                r = rel + b'/' + n[4:]
                lines[r] = esc(r) + ' whiteout'
            continue
        c, r = p + b'/' + n, rel + b'/' + n
        st = describe(c, r)
        if st is not None and stat.S_ISDIR(st.st_mode):
            walk(c, r)

st = describe(top, b'.')
if st is not None and stat.S_ISDIR(st.st_mode):
    walk(top, b'.')
for k in sorted(lines):
    print(lines[k])
EOF
}

# ov_datamap FILE...: size and the data segments of each FILE, found with
# SEEK_DATA and SEEK_HOLE.
ov_datamap() {
	"$OV_PY" - "$@" <<'EOF'
import errno, os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    size = os.fstat(fd).st_size
    segs, off = [], 0
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        segs.append('%d-%d' % (d, h))
        off = h
    os.close(fd)
    print(p, 'size', size, 'data', ' '.join(segs) or 'none')
EOF
}

# The readdir probe, with libc's opendir/readdir/telldir/seekdir:
#   ov_dirents list DIR     "d_ino d_type name" per entry, in readdir order
#   ov_dirents check DIR    counts: entries, distinct names, "." and ".."
#   ov_dirents dino DIR     each entry whose d_ino is not its st_ino (".."
#                           too, except at the top of the mount); nothing
#                           when all agree. One side only: the kernel's
#                           overlayfs keeps the two equal only in the
#                           directories it marked "impure" itself.
#   ov_dirents seek DIR     telldir before each entry, then seekdir back to
#                           a sample of those positions (forwards and
#                           backwards) must read the same entry again, and
#                           rewinddir the same list; prints "ok N" or errors
ov_dirents() {
	"$OV_PY" - "$@" <<'EOF'
import ctypes, os, sys

class Dirent(ctypes.Structure):
    _fields_ = [('d_ino', ctypes.c_uint64), ('d_off', ctypes.c_int64),
                ('d_reclen', ctypes.c_ushort), ('d_type', ctypes.c_ubyte),
                ('d_name', ctypes.c_char * 256)]

libc = ctypes.CDLL(None, use_errno=True)
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir64.restype = ctypes.POINTER(Dirent)
libc.readdir64.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]

mode, path = sys.argv[1], os.fsencode(sys.argv[2])
d = libc.opendir(path)
if not d:
    sys.exit('opendir: ' + os.strerror(ctypes.get_errno()))

def read_one():
    ctypes.set_errno(0)
    e = libc.readdir64(d)
    if not e:
        if ctypes.get_errno():
            raise OSError(ctypes.get_errno(), 'readdir')
        return None
    return e.contents.d_ino, e.contents.d_type, e.contents.d_name

def read_all(tell=False):
    out = []
    while True:
        pos = libc.telldir(d) if tell else None
        e = read_one()
        if e is None:
            return out
        out.append((pos,) + e)

if mode == 'list':
    for _, ino, typ, name in read_all():
        print(ino, typ, os.fsdecode(name))
elif mode == 'check':
    names = [e[3] for e in read_all()]
    print('entries', len(names), 'distinct', len(set(names)),
          'dot', names.count(b'.'), 'dotdot', names.count(b'..'))
elif mode == 'dino':
    ents = read_all()
    top = os.path.ismount(path)
    for _, ino, typ, name in ents:
        if name == b'..' and top:
            continue
        p = path + b'/' + name
        try:
            st = os.stat(p) if name in (b'.', b'..') else os.lstat(p)
        except OSError as e:
            print('lstat', os.fsdecode(name), e.strerror)
            continue
        if st.st_ino != ino:
            print('d_ino != st_ino for', os.fsdecode(name), ino, st.st_ino)
elif mode == 'seek':
    first = read_all(tell=True)
    bad = 0
    sample = first[::max(1, len(first) // 200)] + first[-3:]
    for order in (sample, sample[::-1]):
        for pos, ino, typ, name in order:
            libc.seekdir(d, pos)
            e = read_one()
            if e is None or e[2] != name or e[0] != ino:
                bad += 1
                if bad <= 10:
                    print('seekdir to the entry', os.fsdecode(name), 'read',
                          e and os.fsdecode(e[2]))
    libc.rewinddir(d)
    again = [e[1:] for e in read_all()]
    if again != [e[1:] for e in first]:
        bad += 1
        print('rewinddir: a different list (%d entries, first %d)'
              % (len(again), len(first)))
    if not bad:
        print('ok', len(first))
else:
    sys.exit('ov_dirents: unknown mode ' + mode)
libc.closedir(d)
EOF
}

# ov_userns: run the bash script read from stdin as root of a new user
# namespace (unshare -Ur: no capability outside it), in a new mount
# namespace. The script has this file's functions and variables, runs under
# set -e and unmounts whatever it mounted on exit; veneerfs is unmounted
# with umount there, and its exit status checked as usual.
ov_userns() {
	local script=$WORK/userns.sh pre
	{
		declare -f
		echo 'OV_USERNS=1'
		echo '_ov_userns_exit() {'
		echo '	local rc=$?'
		echo '	cd /'
		echo '	ov_unmount_both || rc=1'
		echo '	exit $rc'
		echo '}'
		echo 'trap _ov_userns_exit EXIT'
	} >"$script"
	pre=$(($(wc -l <"$script") + 2))
	{
		echo "trap 'echo \"userns script: line \$((LINENO - $pre)) failed:" \
			"\$(sed -n \${LINENO}p \"\$0\")\" >&2' ERR"
		echo 'set -e -o pipefail'
		cat
	} >>"$script"
	WORK=$WORK L1=$L1 L2=$L2 L3=$L3 U=$U VM=$VM KM=$KM VU=$VU KU=$KU \
		VW=$VW KW=$KW VENEERFS=$VENEERFS VNOP=$VNOP VN_TESTS=$VN_TESTS \
		OV_PY=$OV_PY \
		OV_SELF_TEST=${OV_SELF_TEST:-} OV_VPID= LC_ALL=C \
		unshare -Urm --propagation private bash "$script"
}

# ov_fails_cleanly [--says TEXT] ARGS...: veneerfs run with ARGS (the last
# is the mountpoint) must fail: a non-zero exit within 10 seconds, one line
# on stderr that starts with "veneerfs: " (and contains TEXT), nothing on
# stdout, and nothing mounted on the mountpoint. With OV_SELF_TEST=1 a
# kernel mount of the same options stands in (TEXT is not checked then).
ov_fails_cleanly() {
	local says= out err status=0 mnt
	if [ "$1" = --says ]; then says=$2; shift 2; fi
	mnt=${!#}
	if mountpoint -q "$mnt"; then
		echo "ov_fails_cleanly: $mnt is mounted already" >&2
		return 1
	fi
	if _ov_is_self_test; then
		_ov_selftest_daemon "$@" >"$WORK/fail.out" 2>"$WORK/fail.err" ||
			status=$?
		says=
	else
		timeout 10 "$VENEERFS" "$@" >"$WORK/fail.out" \
			2>"$WORK/fail.err" || status=$?
	fi
	out=$(cat "$WORK/fail.out")
	err=$(cat "$WORK/fail.err")
	if mountpoint -q "$mnt"; then
		echo "veneerfs $*: $mnt is mounted" >&2
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt"
		return 1
	fi
	if [ $status -eq 0 ] || [ $status -eq 124 ]; then
		echo "veneerfs $*: exit status $status (124: timed out)" >&2
		return 1
	fi
	if [ -n "$out" ] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] ||
		[ "${err#veneerfs: }" = "$err" ]; then
		printf 'veneerfs %s: expected one line "veneerfs: ..." on ' "$*" >&2
		printf 'stderr only; stdout:\n%s\nstderr:\n%s\n' "$out" "$err" >&2
		return 1
	fi
	if [ -n "$says" ] && [[ $err != *"$says"* ]]; then
		printf 'veneerfs %s: the error does not mention %s:\n%s\n' \
			"$*" "$says" "$err" >&2
		return 1
	fi
	ov_err=$err
}

# What a kernel mount does with a veneerfs command line "-f -o OPTS MNT",
# in the shape of veneerfs' errors (for OV_SELF_TEST only).
_ov_selftest_daemon() {
	local opts= mnt= out
	while [ $# -gt 0 ]; do
		case $1 in
		-f) shift ;;
		-o) opts="$opts${opts:+,}$2"; shift 2 ;;
		*) mnt=$1; shift ;;
		esac
	done
	out=$(mount -t overlay overlay \
		-o "$opts,$(_ov_kernel_defaults "$opts")" "$mnt" 2>&1) || {
		echo "veneerfs: $(printf '%s\n' "$out" | head -n 1)" >&2
		return 1
	}
}
