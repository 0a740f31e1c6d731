#!/usr/bin/env bats
# mount(8)'s own options (the flags of the mount: ro, nosuid, the atime
# ones, lazytime, nosymfollow...), remount, blksize=, and the ones this
# kernel refuses. The reference for each flag is the same option given to
# a tmpfs mount: the kernel shows the same flags for both.

load helpers

setup() {
	vn_setup
	echo data >"$SRC/f"
	KREF=$WORK/kref
	mkdir "$KREF"
}

teardown() {
	if mountpoint -q "$KREF"; then umount "$KREF"; fi
	vn_teardown
}

# The flags of the mount at $1: the mount's own, then the superblock's
# ro/rw, sync, dirsync, lazytime (the rest of FS-OPTIONS differs by type).
flags_of() {
	local vfs fs
	vfs=$(findmnt -no VFS-OPTIONS "$1")
	fs=$(findmnt -no FS-OPTIONS "$1" | tr , '\n' |
		grep -xE 'ro|rw|sync|dirsync|lazytime' | paste -sd,)
	echo "$vfs | $fs"
}

# same_flags OPTS: veneerfs mounted with -o OPTS shows the flags a tmpfs
# mounted with OPTS shows.
same_flags() {
	local want got
	# libfuse's own defaults, nosuid and nodev, come first
	mount -t tmpfs -o "nosuid,nodev,$1" vn-ref "$KREF"
	want=$(flags_of "$KREF")
	umount "$KREF"
	vn_mount -o "$1"
	got=$(flags_of "$MNT")
	vn_unmount
	echo "-o $1: tmpfs '$want', veneerfs '$got'"
	[ "$got" = "$want" ]
}

@test "atime options take effect as on any filesystem" {
	same_flags relatime
	same_flags strictatime
	same_flags noatime
	same_flags noatime,relatime
	same_flags relatime,noatime
	same_flags noatime,atime
	same_flags strictatime,nostrictatime
	same_flags norelatime
	same_flags nodiratime
	same_flags diratime
}

@test "lazytime, nosymfollow, sync, dirsync and the access flags" {
	same_flags lazytime
	same_flags lazytime,nolazytime
	same_flags nosymfollow
	same_flags ro,noexec,nosuid,nodev
	same_flags sync,dirsync
	same_flags exec,suid,dev,rw,async
	same_flags nomand,noiversion,silent,loud
}

@test "nosymfollow: symlinks on the mount are not followed" {
	ln -s f "$SRC/link"
	vn_mount -o nosymfollow
	[ "$(readlink "$MNT/link")" = f ]
	run cat "$MNT/link"
	[ "$status" -ne 0 ]
	[[ $output == *"Too many levels of symbolic links"* ]]
}

@test "remount,ro refuses writes with EROFS and remount,rw restores them" {
	vn_mount -o noatime,nosuid
	echo before >"$MNT/w"
	"$VENEERFS" -o remount,ro "$SRC" "$MNT"
	[ "$(findmnt -no VFS-OPTIONS "$MNT")" = ro,nosuid,nodev,noatime ]
	cd "$MNT"
	vn_expect EROFS open new O_WRONLY,O_CREAT 0644
	vn_expect EROFS open w O_WRONLY
	vn_expect EROFS mkdir d 0755
	vn_expect EROFS unlink f
	vn_expect EROFS setxattr f user.x y
	[ "$(cat w)" = before ]
	cd /
	# Only the mount point is needed, as with mount(8).
	"$VENEERFS" -o remount,rw "$MNT"
	[ "$(findmnt -no VFS-OPTIONS "$MNT")" = rw,nosuid,nodev,noatime ]
	echo after >"$MNT/w"
	[ "$(cat "$SRC/w")" = after ]
	# The same daemon served it throughout.
	kill -0 "$VN_PID"
	vn_unmount
}

@test "remount,ro with a file open for writing fails with EBUSY, as on ext4" {
	vn_mount
	exec 5>"$MNT/open"
	run "$VENEERFS" -o remount,ro "$MNT"
	exec 5>&-
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "veneerfs: cannot remount '$MNT': Device or resource busy" ]]
	[ "$(findmnt -no VFS-OPTIONS "$MNT" | cut -d, -f1)" = rw ]
}

@test "remount of a directory that is no veneerfs mount fails with one line" {
	mount -t tmpfs vn-other "$KREF"
	run "$VENEERFS" -o remount,ro "$KREF"
	[ "$status" -eq 1 ]
	[ "$output" = "veneerfs: remount: '$KREF' is not a veneerfs mount" ]
	[ "$(findmnt -no VFS-OPTIONS "$KREF" | cut -d, -f1)" = rw ]
	run "$VENEERFS" -o remount,ro "$MNT"
	[ "$status" -eq 1 ]
	[ "$output" = "veneerfs: remount: '$MNT' is not a veneerfs mount" ]
}

@test "mand and iversion are refused with one line and nothing is mounted" {
	run "$VENEERFS" -o mand "$SRC" "$MNT"
	[ "$status" -eq 1 ]
	[ "$output" = "veneerfs: 'mand': mandatory locks are not supported by this kernel" ]
	run "$VENEERFS" -o iversion "$SRC" "$MNT"
	[ "$status" -eq 1 ]
	[ "$output" = "veneerfs: 'iversion': FUSE filesystems keep no i_version" ]
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
}

@test "options only the kernel sets are refused for a new mount" {
	for o in user_id=0 group_id=0 rootmode=40000 fd=3; do
		run "$VENEERFS" -o "$o" "$SRC" "$MNT"
		[ "$status" -eq 1 ]
		[ "$output" = "veneerfs: '$o' is set by the kernel for a new mount, not by an option" ]
	done
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
}

@test "blksize=N: every object reports st_blksize N" {
	mkdir "$SRC/d"
	vn_mount -o blksize=65536
	[ "$(stat -c %o "$MNT/f")" = 65536 ]
	[ "$(stat -c %o "$MNT/d")" = 65536 ]
	touch "$MNT/new"
	[ "$(stat -c %o "$MNT/new")" = 65536 ]
	[ "$(stat -c %o "$SRC/f")" = 4096 ]
}

@test "blksize=: a value that is not a power of two from 512 to 1 MiB is refused" {
	for v in 1000 256 2097152 abc -4096 ""; do
		run "$VENEERFS" -o "blksize=$v" "$SRC" "$MNT"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ ${lines[0]} == "veneerfs: bad value in 'blksize=$v': expected "* ]]
	done
}

# What reading and executing do to the atime of files in $1 (a mount of
# $2): atimes are set to 2001 first.
atime_steps() {
	cp /bin/true "$2/prog"
	echo text >"$2/text"
	touch -a -d @1000000000 "$2/prog" "$2/text"
	"$1/prog"
	cat "$1/text" >/dev/null
	stat -c '%n %X' "$2/prog" "$2/text" | sed "s|^$2/||"
}

@test "noatime: reading and executing leave the real files' atime alone" {
	vn_mount -o noatime
	# The reference: a noatime bind mount of the plain directory.
	mount --bind "$REF" "$KREF"
	mount -o remount,bind,noatime "$KREF"
	m=$(atime_steps "$MNT" "$SRC")
	r=$(atime_steps "$KREF" "$REF")
	[ "$m" = "$r" ]
	[ "$m" = "$(printf 'prog 1000000000\ntext 1000000000')" ]
}

@test "noatime set by a remount is followed by the daemon" {
	vn_mount
	# Without noatime the atime moves (relatime: it is older than mtime).
	m=$(atime_steps "$MNT" "$SRC")
	[ "$m" != "$(printf 'prog 1000000000\ntext 1000000000')" ]
	"$VENEERFS" -o remount,noatime "$MNT"
	rm "$SRC/prog" "$SRC/text"
	m=$(atime_steps "$MNT" "$SRC")
	[ "$m" = "$(printf 'prog 1000000000\ntext 1000000000')" ]
}
