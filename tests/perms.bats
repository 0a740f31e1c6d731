#!/usr/bin/env bats
# Credentials: an unprivileged caller on an allow_other mount is judged by
# SOURCE's own permission rules and owns what it creates. Every step is
# also done on $REF, a plain ext4 directory set up the same way, and both
# must give the same result.

load helpers

# A group nobody is not in, unless setpriv --groups adds it.
GRP=4242

# One filesystem call, printing OK or the errno name (EACCES, ...).
# Usage: python3 -c "$PYOP" OP ARGS...
PYOP='
import ctypes, errno, os, subprocess, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == "read":
        fd = os.open(a[0], os.O_RDONLY); os.read(fd, 1); os.close(fd)
    elif op == "write":
        fd = os.open(a[0], os.O_WRONLY); os.write(fd, b"x"); os.close(fd)
    elif op == "create":
        os.close(os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    elif op == "access_w":
        if not os.access(a[0], os.W_OK):
            raise PermissionError(errno.EACCES, "not writable")
    elif op == "stat":
        os.lstat(a[0])
    elif op == "list":
        os.listdir(a[0])
    elif op == "mkdir":
        os.mkdir(a[0], 0o777)
    elif op == "mkfifo":
        os.mkfifo(a[0], 0o666)
    elif op == "symlink":
        os.symlink(a[1], a[0])
    elif op == "link":
        os.link(a[0], a[1], follow_symlinks=False)
    elif op == "unlink":
        os.unlink(a[0])
    elif op == "rename":
        os.rename(a[0], a[1])
    elif op == "truncate":
        os.truncate(a[0], 0)
    elif op == "chmod":
        os.chmod(a[0], int(a[1], 8), follow_symlinks=False)
    elif op == "chown":
        os.chown(a[0], int(a[1]), int(a[2]), follow_symlinks=False)
    elif op == "exec":
        r = subprocess.run([a[0]], stderr=subprocess.DEVNULL)
        if r.returncode:
            print("exit %d" % r.returncode)
            sys.exit(0)
    elif op == "append":
        fd = os.open(a[0], os.O_WRONLY | os.O_APPEND); os.write(fd, b"x")
        os.close(fd)
    elif op == "shrink":
        os.truncate(a[0], 1)
    elif op == "otrunc":
        os.close(os.open(a[0], os.O_WRONLY | os.O_TRUNC))
    elif op in ("fallocate", "punch", "zero"):
        mode = {"fallocate": 0, "punch": 3, "zero": 0x10}[op]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int,
                                   ctypes.c_int64, ctypes.c_int64]
        fd = os.open(a[0], os.O_WRONLY)
        length = 1 << 17 if op == "fallocate" else 4096
        if libc.fallocate(fd, mode, 0, length) < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        os.close(fd)
    else:
        sys.exit("unknown op " + op)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
'

setup() {
	vn_setup
	PY=/usr/bin/python3 # nobody cannot run a python3 under /root
	[ -x "$PY" ] || vn_skip "needs /usr/bin/python3"
	make_tree "$SRC"
	make_tree "$REF"
}

teardown() {
	vn_teardown
}

# The same owners and modes in SRC and REF.
make_tree() {
	local d=$1
	echo root >"$d/rootfile"
	chmod 0644 "$d/rootfile"
	mkdir -m 0700 "$d/private"
	echo secret >"$d/private/secret"
	chmod 0644 "$d/private/secret"
	echo private >"$d/private/open"
	chmod 0666 "$d/private/open"
	mkdir -m 0755 "$d/rootdir"
	touch "$d/rootdir/victim"
	chmod 0666 "$d/rootdir/victim"
	mkdir "$d/open"
	chmod 0777 "$d/open"
	mkdir "$d/sticky"
	chmod 1777 "$d/sticky"
	echo root >"$d/sticky/rootfile"
	chmod 0666 "$d/sticky/rootfile"
	mkdir "$d/sgid"
	chgrp $GRP "$d/sgid"
	chmod 2777 "$d/sgid"
	echo group >"$d/grpfile"
	chgrp $GRP "$d/grpfile"
	chmod 0660 "$d/grpfile"
	mkdir -m 0770 "$d/grpdir"
	chgrp $GRP "$d/grpdir"
	touch "$d/grpdir/inside"
}

mount_other() {
	vn_mount -o allow_other "$@"
}

# run_op WHO OP ARGS...: run OP as WHO (nobody, or nobody+GID for nobody
# with one supplementary group); print OK or the errno name.
run_op() {
	local who=$1
	shift
	case $who in
	nobody)
		as_nobody "$PY" -c "$PYOP" "$@" ;;
	nobody+*)
		setpriv --reuid=65534 --regid=65534 --groups="${who#nobody+}" \
			-- "$PY" -c "$PYOP" "$@" ;;
	root)
		"$PY" -c "$PYOP" "$@" ;;
	esac
}

# expect WANT WHO OP ARGS...: do OP on the mount and on $REF, where an
# argument @NAME stands for NAME under the mount or $REF; both must
# print WANT.
expect() {
	local want=$1 who=$2 base got arg
	local -a args
	shift 2
	for base in "$REF" "$MNT"; do
		args=()
		for arg in "$@"; do
			[[ $arg == @* ]] && arg=$base/${arg#@}
			args+=("$arg")
		done
		got=$(run_op "$who" "${args[@]}")
		if [ "$got" != "$want" ]; then
			echo "$who: $* on $base: got '$got', want '$want'" >&2
			return 1
		fi
	done
}

# The owner, group, type and mode of NAME in SRC and in REF, which must
# agree, and must be WANT (as "uid:gid type mode").
expect_owner() {
	local want=$1 name=$2 s r
	s=$(stat -c '%u:%g %F %a' -- "$SRC/$name")
	r=$(stat -c '%u:%g %F %a' -- "$REF/$name")
	if [ "$s" != "$r" ] || [ "$s" != "$want" ]; then
		echo "$name: source '$s', reference '$r', want '$want'" >&2
		return 1
	fi
}

# What nobody must not be able to do, whatever does the checking.
denied_matrix() {
	expect EACCES nobody write @rootfile
	expect EACCES nobody access_w @rootfile
	expect EACCES nobody truncate @rootfile
	expect OK nobody read @rootfile
	expect EACCES nobody list @private
	expect EACCES nobody create @rootdir/new
	expect EACCES nobody mkdir @rootdir/newdir
	expect EACCES nobody create @new
	expect EACCES nobody unlink @rootdir/victim
	expect EACCES nobody rename @rootfile @open/stolen
	[ ! -e "$SRC/rootdir/new" ]
	[ ! -e "$SRC/new" ]
	[ ! -e "$SRC/rootdir/newdir" ]
	[ -e "$SRC/rootfile" ]
	[ -e "$SRC/rootdir/victim" ]
	[ "$(cat "$SRC/rootfile")" = root ]
}

@test "what nobody creates belongs to nobody in SOURCE" {
	mount_other
	umask 022
	expect OK nobody create @open/file
	expect OK nobody mkdir @open/dir
	expect OK nobody symlink @open/link target
	expect OK nobody mkfifo @open/fifo
	expect_owner '65534:65534 regular empty file 644' open/file
	expect_owner '65534:65534 directory 755' open/dir
	expect_owner '65534:65534 symbolic link 777' open/link
	expect_owner '65534:65534 fifo 644' open/fifo
	[ "$(readlink "$SRC/open/link")" = target ]
	# And the mount shows the same as SOURCE.
	[ "$(stat -c '%u:%g %a' "$MNT/open/file")" = "65534:65534 644" ]
	[ "$(stat -c '%u:%g %a' "$MNT/open/dir")" = "65534:65534 755" ]
}

@test "a file root creates through the mount belongs to root" {
	mount_other
	expect OK root create @open/rootmade
	expect_owner '0:0 regular empty file 644' open/rootmade
}

@test "nobody cannot write, list or create where SOURCE forbids it" {
	mount_other
	denied_matrix
}

@test "nobody cannot delete or rename root's file in a sticky dir" {
	mount_other
	expect EPERM nobody unlink @sticky/rootfile
	expect EPERM nobody rename @sticky/rootfile @sticky/mine
	expect OK nobody write @sticky/rootfile
	[ -f "$SRC/sticky/rootfile" ]
	[ ! -e "$SRC/sticky/mine" ]
	# Its own file there it may delete.
	expect OK nobody create @sticky/own
	expect_owner '65534:65534 regular empty file 644' sticky/own
	expect OK nobody unlink @sticky/own
	[ ! -e "$SRC/sticky/own" ]
}

@test "a new file or dir in a setgid dir takes the dir's group" {
	mount_other
	umask 022
	expect OK nobody create @sgid/file
	expect OK nobody mkdir @sgid/dir
	expect_owner "65534:$GRP regular empty file 644" sgid/file
	expect_owner "65534:$GRP directory 2755" sgid/dir
}

@test "supplementary groups count" {
	mount_other
	expect EACCES nobody write @grpfile
	expect EACCES nobody list @grpdir
	expect OK nobody+$GRP write @grpfile
	expect OK nobody+$GRP read @grpfile
	expect OK nobody+$GRP list @grpdir
	expect OK nobody+$GRP create @grpdir/bygroup
	expect_owner '65534:65534 regular empty file 644' grpdir/bygroup
	[ "$(head -c1 "$SRC/grpfile")" = x ]
}

@test "supplementary groups count without default_permissions" {
	mount_other -o nodefault_permissions
	expect EACCES nobody write @grpfile
	expect EACCES nobody list @grpdir
	expect OK nobody+$GRP write @grpfile
	expect OK nobody+$GRP access_w @grpfile
	expect OK nobody+$GRP list @grpdir
	expect OK nobody+$GRP create @grpdir/bygroup
	expect_owner '65534:65534 regular empty file 644' grpdir/bygroup
}

@test "chmod and chown by a non-owner fail with EPERM" {
	mount_other
	expect EPERM nobody chmod @rootfile 666
	expect EPERM nobody chown @rootfile 65534 65534
	expect EPERM nobody chown @rootfile -1 65534
	# Not even on its own file: giving it away or to a foreign group.
	expect OK nobody create @open/mine
	expect EPERM nobody chown @open/mine 0 -1
	expect EPERM nobody chown @open/mine -1 $GRP
	expect OK nobody chmod @open/mine 600
	expect_owner '0:0 regular file 644' rootfile
	expect_owner '65534:65534 regular empty file 600' open/mine
}

@test "with nodefault_permissions SOURCE still enforces its rules" {
	mount_other -o nodefault_permissions
	grep -q "^$SRC $MNT fuse.veneerfs " /proc/mounts
	run grep "^$SRC $MNT " /proc/mounts
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} != *default_permissions* ]]
	denied_matrix
	expect EPERM nobody chmod @rootfile 666
	expect EPERM nobody chown @rootfile 65534 65534
	expect EPERM nobody unlink @sticky/rootfile
	expect OK nobody create @open/file
	expect_owner '65534:65534 regular empty file 644' open/file
}

@test "nobody cannot hard-link root's file (protected_hardlinks)" {
	[ "$(cat /proc/sys/fs/protected_hardlinks)" = 1 ] ||
		vn_skip "needs fs.protected_hardlinks = 1"
	mount_other
	expect EPERM nobody link @rootfile @open/hardlink
	expect OK nobody create @open/mine
	expect OK nobody link @open/mine @open/mine2
	[ "$(stat -c %h "$SRC/open/mine")" = 2 ]
	vn_unmount
	mount_other -o nodefault_permissions
	rm -f "$REF/open/hardlink"
	expect EPERM nobody link @rootfile @open/hardlink
	[ ! -e "$SRC/open/hardlink" ]
	[ "$(stat -c %h "$SRC/rootfile")" = 1 ]
}

# Files in a 0700 dir of root's are world-readable (private/secret) and
# world-writable (private/open), but nobody may not search the directory
# they are in, so may not reach them.
@test "with nodefault_permissions nobody cannot stat a file in a 0700 dir" {
	mount_other -o nodefault_permissions
	expect EACCES nobody list @private
	expect EACCES nobody stat @private/secret
}

@test "with nodefault_permissions nobody cannot read a file in a 0700 dir" {
	mount_other -o nodefault_permissions
	expect EACCES nobody read @private/secret
}

@test "with nodefault_permissions nobody cannot write a file in a 0700 dir" {
	mount_other -o nodefault_permissions
	expect EACCES nobody write @private/open
	[ "$(cat "$SRC/private/open")" = private ]
}

@test "mounted by root with no option, every user reaches the mount" {
	vn_mount
	[[ ,$(findmnt -no FS-OPTIONS "$MNT"), == *,allow_other,* ]]
	denied_matrix
	expect OK nobody read @rootfile
	expect OK nobody create @open/file
	expect_owner '65534:65534 regular empty file 644' open/file
}

@test "noallow_other: only the mounting user may use the mount" {
	vn_mount -o noallow_other
	[[ ,$(findmnt -no FS-OPTIONS "$MNT"), != *,allow_other,* ]]
	expect OK root read @rootfile
	run as_nobody stat "$MNT"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	[ "$(run_op nobody list "$MNT")" = EACCES ]
	[ "$(run_op nobody read "$MNT/rootfile")" = EACCES ]
	[ "$(run_op nobody create "$MNT/open/x")" = EACCES ]
	[ ! -e "$SRC/open/x" ]
	# The same steps are allowed on the plain directory.
	[ "$(run_op nobody read "$REF/rootfile")" = OK ]
}

@test "an execute-only program runs for another user, as on ext4" {
	local base
	for base in "$SRC" "$REF"; do
		cp /bin/true "$base/prog"
		chmod 0711 "$base/prog"
		printf '#!/bin/sh\nexit 0\n' >"$base/script"
		chmod 0711 "$base/script"
		cp /bin/true "$base/private/prog"
		chmod 0755 "$base/private/prog"
		cp /bin/true "$base/ownonly"
		chmod 0700 "$base/ownonly"
	done
	mount_other
	expect OK nobody exec @prog
	expect EACCES nobody read @prog
	# A script is read by its interpreter, as the caller: refused.
	expect "exit 2" nobody exec @script
	expect EACCES nobody exec @ownonly
	expect EACCES nobody exec @private/prog
	expect OK root exec @ownonly
}

@test "an execute-only program runs for another user without default_permissions" {
	local base
	for base in "$SRC" "$REF"; do
		cp /bin/true "$base/prog"
		chmod 0711 "$base/prog"
		cp /bin/true "$base/ownonly"
		chmod 0701 "$base/ownonly"
		chgrp $GRP "$base/ownonly"
		chmod 0710 "$base/ownonly"
	done
	mount_other -o nodefault_permissions
	expect OK nobody exec @prog
	expect EACCES nobody read @prog
	# Its only execute bit is the group's: SOURCE says no.
	expect EACCES nobody exec @ownonly
	expect OK nobody+$GRP exec @ownonly
}

# The capability of ping, as setcap writes it (revision 2, effective):
# cap_net_raw=ep.
CAP=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=

# Both with the kernel's passthrough (which asks the daemon to drop what
# a write drops) and without it (the daemon writes itself).
@test "a write, truncate or fallocate by another user drops security.capability, as on ext4" {
	local op base pt
	for pt in passthrough nopassthrough; do
		mount_other -o $pt
		for op in write append truncate shrink otrunc fallocate punch zero; do
			for base in "$SRC" "$REF"; do
				head -c 8192 /dev/zero >"$base/$op"
				chmod 0777 "$base/$op"
				setfattr -n security.capability -v $CAP "$base/$op"
			done
			expect OK nobody "$op" "@$op"
			run getfattr --absolute-names -n security.capability "$SRC/$op"
			[ "$status" -eq 1 ]
			[[ $output == *"No such attribute"* ]]
			run getfattr --absolute-names -n security.capability "$REF/$op"
			[ "$status" -eq 1 ]
		done
		vn_unmount
	done
	mount_other
	# Removing it directly stays root's business.
	for base in "$SRC" "$REF"; do
		touch "$base/kept"
		chmod 0777 "$base/kept"
		setfattr -n security.capability -v $CAP "$base/kept"
	done
	run as_nobody setfattr -x security.capability "$MNT/kept"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not permitted"* ]]
	[ "$(getfattr --only-values -n security.capability "$SRC/kept" | base64)" = \
		"$(getfattr --only-values -n security.capability "$REF/kept" | base64)" ]
}

@test "set-user-ID and set-group-ID bits after another user's write, truncate or fallocate: as on ext4" {
	local op mode who base f s r pt
	for pt in passthrough nopassthrough; do
		mount_other -o $pt
		for mode in 6777 4777 2777 2767 2766 0777; do
			for op in write append truncate shrink otrunc fallocate punch zero; do
				for who in nobody nobody+$GRP; do
					f=$pt.$mode.$op.${who#*+}
					for base in "$SRC" "$REF"; do
						head -c 8192 /dev/zero >"$base/$f"
						chgrp $GRP "$base/$f"
						chmod $mode "$base/$f"
					done
					expect OK "$who" "$op" "@$f"
					# The mount shows what SOURCE now has.
					s=$(stat -c %a "$MNT/$f")
					r=$(stat -c %a "$REF/$f")
					echo "$f: mount $s, ext4 $r"
					[ "$s" = "$r" ]
					[ "$(stat -c %a "$SRC/$f")" = "$r" ]
				done
			done
		done
		vn_unmount
	done
}
