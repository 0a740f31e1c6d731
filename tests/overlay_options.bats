#!/usr/bin/env bats
# Overlay mode's options: what a bad command line gets (one line
# "veneerfs: ...", a non-zero exit, nothing mounted), the layer checks the
# kernel's overlayfs makes too, "\:" in lowerdir paths, and the options
# that change what the mount shows. Where the kernel has the same option
# the two mounts are compared; veneerfs' own options are compared with the
# kernel's view as the option should change it.

load helpers
load overlay

setup() {
	ov_setup
	mkdir -p "$WORK/w"
	echo l1 >"$L1/f"
	echo l2 >"$L2/g"
}

@test "options: lowerdir is needed" {
	ov_fails_cleanly -f -o "upperdir=$U,workdir=$WORK/w" "$VM"
	ov_fails_cleanly -f "$VM"
}

@test "options: a missing lowerdir, upperdir or workdir fails and is named" {
	ov_fails_cleanly --says "$WORK/nope" -f -o "lowerdir=$L1:$WORK/nope" "$VM"
	ov_fails_cleanly --says "$WORK/nope" -f \
		-o "lowerdir=$L1,upperdir=$WORK/nope,workdir=$WORK/w" "$VM"
	ov_fails_cleanly --says "$WORK/nope" -f \
		-o "lowerdir=$L1,upperdir=$U,workdir=$WORK/nope" "$VM"
	ov_fails_cleanly --says "$L1/f" -f -o "lowerdir=$L1/f:$L2" "$VM"
	ov_fails_cleanly -f -o "lowerdir=$L1:$L2" "$WORK/nomnt"
}

@test "options: upperdir needs workdir" {
	ov_fails_cleanly -f -o "lowerdir=$L1,upperdir=$U" "$VM"
}

@test "options: workdir on another filesystem than upperdir" {
	ov_tmpfs "$WORK/t"
	mkdir "$WORK/t/w"
	ov_fails_cleanly -f -o "lowerdir=$L1,upperdir=$U,workdir=$WORK/t/w" "$VM"
}

@test "options: workdir inside upperdir, or upperdir inside workdir" {
	mkdir "$U/w" "$WORK/w/u"
	ov_fails_cleanly -f -o "lowerdir=$L1,upperdir=$U,workdir=$U/w" "$VM"
	ov_fails_cleanly -f \
		-o "lowerdir=$L1,upperdir=$WORK/w/u,workdir=$WORK/w" "$VM"
	ov_fails_cleanly -f -o "lowerdir=$L1,upperdir=$U,workdir=$U" "$VM"
}

@test "options: upperdir also a lowerdir, or a lowerdir inside it" {
	mkdir "$U/sub"
	ov_fails_cleanly -f -o "lowerdir=$L1:$U,upperdir=$U,workdir=$WORK/w" "$VM"
	ov_fails_cleanly -f \
		-o "lowerdir=$U/sub:$L1,upperdir=$U,workdir=$WORK/w" "$VM"
	ov_fails_cleanly -f -o "lowerdir=$L1:$L2,upperdir=$L2,workdir=$WORK/w" \
		"$VM"
}

@test "options: a workdir or upperdir in use by another mount" {
	# the kernel only warns about this without index=on
	ov_veneerfs_only "the kernel allows it with a warning"
	ov_mount_both
	mkdir "$WORK/m2" "$WORK/u2" "$WORK/w2"
	ov_fails_cleanly -f \
		-o "lowerdir=$L1,upperdir=$WORK/u2,workdir=$VW" "$WORK/m2"
	ov_fails_cleanly -f \
		-o "lowerdir=$L1,upperdir=$VU,workdir=$WORK/w2" "$WORK/m2"
	# the first mount goes on working, and once it is gone the dirs are
	# free again
	ov_ok sh -c 'echo x >>f'
	ov_unmount_both
	"$VENEERFS" -f -o "lowerdir=$L1,upperdir=$VU,workdir=$VW" "$WORK/m2" \
		2>"$WORK/m2.log" &
	local pid=$!
	_ov_wait_mounted "$WORK/m2" $pid || { cat "$WORK/m2.log"; false; }
	[ "$(cat "$WORK/m2/f")" = "$(printf 'l1\nx')" ]
	fusermount3 -u "$WORK/m2"
	wait $pid
}

@test "options: unknown options and empty layers" {
	ov_fails_cleanly -f -o "lowerdir=$L1:$L2,frobnicate" "$VM"
	ov_fails_cleanly -f -o "lowerdir=$L1:$L2,frobnicate=1" "$VM"
	ov_fails_cleanly -f -o "lowerdir=" "$VM"
	ov_fails_cleanly -f -o "lowerdir=$L1:$L2:" "$VM"
}

@test "options: bad values of veneerfs' own options" {
	ov_veneerfs_only "options the kernel does not have"
	local o
	for o in squash_to_uid=abc squash_to_uid=-1 squash_to_gid= \
		uidmapping=0:1000 uidmapping=0:1000:x gidmapping=a:b:c \
		uidmapping=0:1000:0 xattr_permissions=3 xattr_permissions=x \
		fsync=2 redirect_dir=bogus whiteout=bogus; do
		ov_fails_cleanly -f \
			-o "lowerdir=$L1,upperdir=$U,workdir=$WORK/w,$o" "$VM"
	done
	# an empty layer (the kernel takes "::" for its data-only layers,
	# which veneerfs does not have)
	ov_fails_cleanly -f -o "lowerdir=$L1::$L2" "$VM"
}

@test "options: a SOURCE argument next to lowerdir only names the mount" {
	ov_mount_both --source my-overlay
	mount_source() {
		findmnt -n -o SOURCE --mountpoint "$PWD"
	}
	ov_diff mount_source
	ov_is "$ov_out" my-overlay
	ov_diff ov_tree .
	ov_unmount_both
	# even when SOURCE names a directory: the layers are what is mounted
	ov_mount_both --no-upper --source "$L3"
	ov_diff ov_tree .
	ov_diff ls
	ov_is "$ov_out" "$(printf 'f\ng')"
}

@test "options: \\: in lowerdir paths" {
	mkdir "$WORK/a:b" "$WORK/c:"
	echo ab >"$WORK/a:b/x"
	echo c >"$WORK/c:/y"
	echo l1 >"$WORK/a:b/f"
	ov_mount_both --lowers "$WORK/a\\:b:$WORK/c\\::$L1"
	ov_diff ov_tree .
	ov_diff cat x y f g
	ov_is "$ov_out" "$(printf 'ab\nc\nl1')$(printf '\ncat: g: No such file or directory')"
	ov_ok sh -c 'echo more >>x'
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

@test "options: forty lower layers" {
	local i lowers=
	for i in $(seq 1 40); do
		mkdir -p "$WORK/ll$i/d"
		echo "$i" >"$WORK/ll$i/f$i"
		echo "$i" >"$WORK/ll$i/d/common"
		lowers="$lowers${lowers:+:}$WORK/ll$i"
	done
	mknod "$WORK/ll20/f30" c 0 0
	ov_mount_both --lowers "$lowers"
	ov_diff ov_tree .
	ov_diff cat d/common
	ov_is "$ov_out" 1
	ov_expect ENOENT stat f30
	ov_expect 3 read f21 0 100
}

@test "options: relative layer paths, in daemon mode" {
	ov_veneerfs_only "veneerfs' command line"
	mkdir "$WORK/vu" "$WORK/vw"
	(cd "$WORK" && "$VENEERFS" -o lowerdir=l1:l2,upperdir=vu,workdir=vw vm)
	_ov_wait_mounted "$VM"
	mkdir "$KU" "$KW"
	_ov_kmount "$KM" \
		"lowerdir=$L1:$L2,upperdir=$KU,workdir=$KW,$OV_KERNEL_DEFAULTS"
	ov_diff ov_tree .
	ov_ok sh -c 'echo x >new && rm f'
	ov_diff ov_tree .
	fusermount3 -u "$VM"
	umount "$KM"
	ov_diff_upper ov_tree --upper .
}

# Container engines run the mount program from their storage directory
# with lower layers given as relative symbolic links (l/ID -> ../ID/diff),
# and unmount it themselves.
@test "options: lower layers as relative symlinks, as container engines give them" {
	ov_veneerfs_only "veneerfs' command line"
	local store=$WORK/store
	mkdir -p "$store/l" "$store/a/diff" "$store/b/diff" "$store/c/diff" \
		"$store/c/work" "$store/c/merged"
	cp -a "$L1/." "$store/a/diff/"
	cp -a "$L2/." "$store/b/diff/"
	ln -s ../a/diff "$store/l/AAAA"
	ln -s ../b/diff "$store/l/BBBB"
	(cd "$store" && "$VENEERFS" -o \
		lowerdir=l/AAAA:l/BBBB,upperdir=c/diff,workdir=c/work,,volatile \
		"$store/c/merged")
	_ov_wait_mounted "$store/c/merged"
	mkdir "$KU" "$KW"
	_ov_kmount "$KM" \
		"lowerdir=$L1:$L2,upperdir=$KU,workdir=$KW,$OV_KERNEL_DEFAULTS"
	ov_is "$(cd "$store/c/merged" && ov_tree .)" "$(cd "$KM" && ov_tree .)"
	echo x >"$store/c/merged/new"
	[ "$(cat "$store/c/diff/new")" = x ]
	# the links were resolved once, at mount: changing them now changes
	# nothing
	rm "$store/l/AAAA"
	ov_is "$(cd "$store/c/merged" && ov_tree .)" \
		"$(cd "$KM" && echo x >new && ov_tree .)"
	umount "$store/c/merged"
}

# Mounted by root without allow_other, an overlay is open to every user and
# honours set-user-ID bits, as the kernel's is (container engines run their
# processes as other users on it); an explicit nosuid still wins.
@test "options: as root, other users and set-user-ID bits as on the kernel's" {
	ov_veneerfs_only "veneerfs' mount defaults"
	command -v setpriv >/dev/null || vn_skip "needs setpriv"
	cp /usr/bin/id "$L1/suid-id"
	chmod 4755 "$L1/suid-id"
	mkdir "$WORK/vu" "$WORK/vw" "$KU" "$KW"
	"$VENEERFS" -o "lowerdir=$L1:$L2,upperdir=$VU,workdir=$VW" "$VM"
	_ov_wait_mounted "$VM"
	_ov_kmount "$KM" \
		"lowerdir=$L1:$L2,upperdir=$KU,workdir=$KW,$OV_KERNEL_DEFAULTS"
	as_user() {
		(cd "$1" && setpriv --reuid=1000 --regid=1000 --clear-groups -- \
			sh -c 'cat f; ./suid-id -u; echo x >new 2>&1 || echo denied')
	}
	ov_is "$(as_user "$VM")" "$(as_user "$KM")"
	ov_is "$(as_user "$VM" | sed -n 2p)" 0
	ov_is "$(findmnt -no OPTIONS "$VM" | tr , '\n' | grep -c '^nosuid$')" 0
	fusermount3 -u "$VM"
	"$VENEERFS" -o "nosuid,lowerdir=$L1:$L2,upperdir=$VU,workdir=$VW" "$VM"
	_ov_wait_mounted "$VM"
	ov_is "$(as_user "$VM" | sed -n 2p)" 1000
	fusermount3 -u "$VM"
}

@test "options: redirect_dir=off and volatile, as the kernel's" {
	mkdir -p "$L1/d"
	echo x >"$L1/d/x"
	ov_mount_both -o redirect_dir=off,volatile
	ov_expect EXDEV rename d d2
	ov_expect "$(printf '0\n3\n0')" open new O_CREAT,O_WRONLY 0644 : \
		write %0 0 abc : fsync %0
	ov_ok sh -c 'echo more >>f && rm g'
	ov_diff ov_tree .
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

# Trees of the kernel's mount with owners changed by the sed script $1, to
# stand for what a veneerfs option shows.
tree_as() {
	(cd "$KM" && ov_tree . | sed -E "$1")
}

@test "options: squash_to_root" {
	ov_veneerfs_only "an option the kernel does not have"
	chown 5:6 "$L1/f"
	mkdir "$L2/d"
	chown 7:8 "$L2/d"
	ov_mount_both --vo squash_to_root
	ov_is "$(cd "$VM" && ov_tree .)" "$(tree_as 's/ [0-9]+:[0-9]+ n/ 0:0 n/')"
	ov_ok sh -c 'echo x >new && chown 9:9 new'
	ov_is "$(cd "$VM" && ov_tree .)" "$(tree_as 's/ [0-9]+:[0-9]+ n/ 0:0 n/')"
}

@test "options: squash_to_uid and squash_to_gid" {
	ov_veneerfs_only "options the kernel does not have"
	chown 5:6 "$L1/f"
	mkdir "$L2/d"
	ov_mount_both --vo squash_to_uid=1234,squash_to_gid=4321
	ov_is "$(cd "$VM" && ov_tree .)" \
		"$(tree_as 's/ [0-9]+:[0-9]+ n/ 1234:4321 n/')"
	ov_unmount_both
	ov_mount_both --vo squash_to_gid=77
	ov_is "$(cd "$VM" && stat -c '%n %u %g' f g d)" \
		"$(printf 'f 5 77\ng 0 77\nd 0 77')"
}

# uidmapping=ID:ON-DISK-ID:COUNT, fuse-overlayfs' format: what is owned by
# ON-DISK-ID+i on disk shows as owned by ID+i, for i < COUNT; other owners
# show as the overflow id 65534.
@test "options: uidmapping and gidmapping" {
	ov_veneerfs_only "options the kernel does not have"
	chown 100000:100000 "$L1/f"
	chown 100005:100007 "$L2/g"
	mkdir "$L2/d"
	chown 42:42 "$L2/d"
	# the gid map in the form container engines write, with a leading colon
	ov_mount_both --vo uidmapping=0:100000:65536,gidmapping=:0:100000:65536
	ov_is "$(cd "$VM" && stat -c '%n %u %g' f g d)" \
		"$(printf 'f 0 0\ng 5 7\nd 65534 65534')"
	ov_ok sh -c 'echo x >new && mkdir newdir'
	ov_expect 0 chown g 3 4
	ov_unmount_both
	ov_is "$(stat -c '%n %u %g' "$VU/new" "$VU/newdir" "$VU/g")" \
		"$(printf '%s\n' "$VU/new 100000 100000" "$VU/newdir 100000 100000" \
			"$VU/g 100003 100004")"
}

@test "options: static_nlink" {
	ov_veneerfs_only "an option the kernel does not have"
	mkdir -p "$L2/pure/a" "$L2/pure/b" "$U/up/c" "$L1/m/x" "$L3/m/y"
	ov_mount_both --vo static_nlink
	ov_is "$(cd "$VM" && find . -type d -printf '%n\n' | sort -u)" 1
	ov_is "$(cd "$VM" && ov_tree . | sed -E 's/^(\S+ dir \S+ \S+) n[0-9]+/\1 n1/')" \
		"$(tree_as 's/^(\S+ dir \S+ \S+) n[0-9]+/\1 n1/')"
}

@test "options: noacl" {
	ov_veneerfs_only "an option the kernel does not have"
	command -v setfacl >/dev/null || vn_skip "needs setfacl"
	ov_mount_both --vo noacl
	run setfacl -m u:5:r "$VM/f"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not supported"* ]]
	run "$VNOP" getxattr "$VM/f" system.posix_acl_access
	[ "$output" = EOPNOTSUPP ] || [ "$output" = ENODATA ]
	# user xattrs are not affected
	ov_expect 0 setxattr f user.x 1
}

@test "options: fsync=0" {
	ov_veneerfs_only "an option the kernel does not have"
	ov_mount_both --vo fsync=0
	ov_expect "$(printf '0\n3\n0\n0')" open new O_CREAT,O_WRONLY 0644 : \
		write %0 0 abc : fsync %0 : close %0
	ov_ok sh -c 'echo more >>f && sync -f f'
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

@test "options: xattr_permissions= and context= are accepted" {
	ov_veneerfs_only "options the kernel does not have"
	local v
	for v in 0 1 2; do
		ov_mount_both --vo "xattr_permissions=$v"
		ov_diff ov_tree .
		ov_unmount_both
	done
	# A label means nothing on a FUSE mount: context= is taken as one
	# option (its value holds a comma) and dropped, and the mount works.
	local ctx='context="system_u:object_r:container_file_t:s0:c1,c2"'
	mkdir -p "$VU" "$VW"
	timeout 10 "$VENEERFS" -o \
		"lowerdir=$L1,upperdir=$VU,workdir=$VW,$ctx" "$VM"
	_ov_wait_mounted "$VM"
	[ -d "$VM/." ]
	[ "$(findmnt -no FSTYPE "$VM")" = fuse.veneerfs ]
	fusermount3 -u "$VM"
}
