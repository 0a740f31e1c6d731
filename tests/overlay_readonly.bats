#!/usr/bin/env bats
# lowerdir alone, no upperdir: a read-only merged view of the lower layers.
# Everything that would change it fails with EROFS. veneerfs against the
# kernel's overlayfs (which needs at least two lower layers for this).

load helpers
load overlay

make_layers() {
	echo l1 >"$L1/f"
	echo l2 >"$L2/f"
	echo l2 >"$L2/g"
	setfattr -n user.x -v 1 "$L2/g"
	ln -s g "$L3/link"
	mkfifo "$L3/fifo"
	mkdir -p "$L1/d" "$L2/d/sub" "$L3/d" "$L3/opq" "$L2/opq"
	echo l3 >"$L3/d/l3"
	echo l2 >"$L2/d/sub/l2"
	echo l3 >"$L3/d/gone"
	mknod "$L1/d/gone" c 0 0
	: >"$L2/.wh.hidden"
	echo l3 >"$L3/hidden"
	echo l3 >"$L3/opq/below"
	echo l2 >"$L2/opq/above"
	setfattr -n trusted.overlay.opaque -v y "$L2/opq"
}

@test "readonly: the merged view of the lower layers" {
	make_layers
	ov_mount_both --no-upper
	ov_diff ov_tree .
	ov_diff ls -A . d opq
	ov_is "$ov_out" "$(printf '%s\n' .: d f fifo g link opq '' d: l3 sub \
		'' opq: above)"
	ov_diff cat f link d/sub/l2
	ov_is "$ov_out" "$(printf 'l1\nl2\nl2')"
	ov_diff getfattr -d g
	ov_expect g readlink link
	ov_diff ov_dirents check d
	ov_is "$ov_out" "entries 4 distinct 4 dot 1 dotdot 1"
}

@test "readonly: two lower layers, in either order" {
	make_layers
	ov_mount_both --no-upper --lowers "$L3:$L2"
	ov_diff ov_tree .
	ov_unmount_both
	ov_mount_both --no-upper --lowers "$L2:$L3"
	ov_diff ov_tree .
}

@test "readonly: every change fails with EROFS" {
	make_layers
	ov_mount_both --no-upper
	ov_expect EROFS open f O_WRONLY
	ov_expect EROFS open f O_RDWR
	ov_expect EROFS open f O_RDONLY,O_TRUNC
	ov_expect EROFS open new O_CREAT,O_WRONLY 0644
	ov_expect EROFS open new O_CREAT,O_RDONLY 0644
	ov_expect EROFS truncate f 0
	ov_expect EROFS chmod f 0600
	ov_expect EROFS chmod d 0700
	ov_expect EROFS chown f 1 1
	ov_expect EROFS lchown link 1 1
	ov_expect EROFS utimensat f 1 1
	ov_expect EROFS utimensat f NOW NOW
	ov_expect EROFS setxattr g user.y 1
	ov_expect EROFS removexattr g user.x
	ov_expect EROFS unlink f
	ov_expect EROFS unlink missing
	ov_expect EROFS rmdir d/sub
	ov_expect EROFS mkdir new 0755
	ov_expect EROFS mknod new fifo 0644
	ov_expect EROFS symlink f new
	ov_expect EROFS link f new
	ov_expect EROFS rename f new
	ov_expect EROFS renameat2 f g EXCHANGE
	ov_expect EROFS access f W_OK
	ov_expect "$(printf '0\nEBADF')" open f O_RDONLY : fallocate %0 0 0 10
	# and nothing changed
	ov_diff ov_tree .
	ov_expect EEXIST mkdir d 0755
	ov_expect ENOENT stat d/gone
}

@test "readonly: opening existing files for reading still works" {
	make_layers
	ov_mount_both --no-upper
	ov_expect "$(printf '0\n3')" open f O_RDONLY : read %0 0 100
	ov_expect "$(printf '0\n3')" open g O_RDONLY,O_CREAT 0644 : read %0 0 100
	ov_expect "$(printf '0\n3')" open f O_RDONLY,O_NOATIME : read %0 0 100
	ov_expect 0 access f R_OK
	ov_expect 0 access d X_OK
	ov_diff "$OV_PY" -c '
import os
st = os.statvfs(".")
print(bool(st.f_flag & os.ST_RDONLY))'
	ov_is "$ov_out" True
}

@test "readonly: fuse-overlayfs and kernel markers in lower layers" {
	mkdir -p "$L1/a" "$L2/a" "$L3/a"
	echo l3 >"$L3/a/x"
	echo l3 >"$L3/a/y"
	echo l2 >"$L2/a/z"
	: >"$L1/a/.wh.x"
	mknod "$L2/a/y" c 0 0
	mkdir "$L1/o" "$L2/o"
	echo l2 >"$L2/o/hidden"
	echo l1 >"$L1/o/seen"
	: >"$L1/o/.wh..wh..opq"
	ov_mount_both --no-upper
	ov_diff ls -A a o
	ov_is "$ov_out" "$(printf 'a:\nz\n\no:\nseen')"
	ov_diff ov_tree .
}
