#!/usr/bin/env bats
# Extended attributes on an overlay: those of the top layer's object show;
# the overlay's own (trusted.overlay.*, or user.overlay.* with userxattr)
# never do; a change copies the object up. veneerfs against the kernel's
# overlayfs, on the mounts and on disk.

load helpers
load overlay

make_layers() {
	echo l1 >"$L1/f"
	setfattr -n user.one -v 1 "$L1/f"
	setfattr -n user.bin -v 0x00ff10 "$L1/f"
	setfattr -n trusted.own -v t "$L1/f"
	echo l2 >"$L2/f"
	setfattr -n user.below -v hidden "$L2/f"
	mkdir -p "$L1/d" "$L2/d" "$U/d"
	echo x >"$L1/d/fromlower"
	setfattr -n user.dir -v l1 "$L1/d"
	setfattr -n user.dir -v up "$U/d"
	mkdir "$L2/opq" "$L3/opq"
	setfattr -n trusted.overlay.opaque -v y "$L2/opq"
	setfattr -n user.visible -v yes "$L2/opq"
}

@test "xattr: the top object's xattrs show, listed and read" {
	make_layers
	ov_mount_both
	ov_diff getfattr -d -m - f d opq
	ov_is "$ov_out" "$(printf '%s\n' '# file: f' 'trusted.own="t"' \
		'user.bin=0sAP8Q' 'user.one="1"' '' '# file: d' 'user.dir="up"' \
		'' '# file: opq' 'user.visible="yes"')"
	ov_expect ENODATA getxattr f user.below
	ov_expect 1 getxattr f user.one
	ov_expect t getxattr f trusted.own
	ov_expect ENODATA getxattr f user.missing
}

@test "xattr: the overlay's own xattrs are hidden and cannot be set" {
	make_layers
	mkdir -p "$L3/m" "$U/m"
	setfattr -n trusted.overlay.opaque -v n "$L3/m"
	ov_mount_both
	# the kernel adds its own on copy-up (origin, impure): hidden too
	ov_ok sh -c 'echo x >>f && chmod 700 d && touch d/new'
	ov_diff getfattr -d -m - . f d opq m
	ov_diff sh -c 'getfattr -d -m - -R . | grep -c overlay'
	ov_is "$ov_out" 0
	ov_expect ENODATA getxattr opq trusted.overlay.opaque
	ov_expect ENODATA getxattr m trusted.overlay.opaque
	ov_expect ENODATA removexattr opq trusted.overlay.opaque
	ov_diff "$VNOP" listxattr opq
	ov_is "$ov_out" user.visible
	ov_compare_all
	ov_mount_again
	ov_overlay_xattr_set_is_inert trusted
}

# Setting the overlay's own xattrs through the mount may fail, or succeed
# and be stored aside (the kernel escapes them for nested overlays), but
# must not change the merged view, then or when mounted again. $L1/d must
# hold "fromlower".
ov_overlay_xattr_set_is_inert() {
	local m before
	ov_diff ls -A . d
	before=$ov_out
	[[ $before == *fromlower* ]]
	for m in "$VM" "$KM"; do
		(cd "$m" && "$VNOP" setxattr d "$1.overlay.opaque" y &&
			"$VNOP" setxattr . "$1.overlay.opaque" y &&
			"$VNOP" setxattr d "$1.overlay.redirect" /opq) >/dev/null
	done
	ov_diff ls -A . d
	ov_is "$ov_out" "$before"
	ov_unmount_both
	ov_mount_again
	ov_diff ls -A . d
	ov_is "$ov_out" "$before"
}

@test "xattr: set and remove copy up and keep the rest" {
	make_layers
	cp -a "$L1/f" "$L1/g"
	ov_mount_both
	ov_expect 0 setxattr f user.new v
	ov_expect 0 removexattr g user.one
	ov_expect 0 setxattr d user.dir changed
	ov_expect 0 setxattr opq user.visible REPLACE
	ov_diff getfattr -d -m - f g d opq
	ov_expect ENODATA removexattr g user.one
	ov_compare_all
	[ "$(getfattr --only-values -n trusted.own "$VU/f")" = t ]
	[ "$(getfattr --only-values -n trusted.own "$KU/f")" = t ]
	[ "$(getfattr --only-values -n trusted.own "$VU/g")" = t ]
}

@test "xattr: CREATE, REPLACE, size queries and ERANGE on lower objects" {
	make_layers
	ov_mount_both
	ov_expect EEXIST setxattr f user.one x CREATE
	ov_expect ENODATA setxattr f user.nope x REPLACE
	ov_expect ENODATA removexattr f user.nope
	# A size query may count more than is listed (the kernel counts the
	# xattrs it hides), never less: the list is 30 bytes.
	ov_ok "$OV_PY" -c '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
print(libc.getxattr(b"f", b"user.one", None, 0))
print(libc.getxattr(b"f", b"user.bin", buf, 1), errno.errorcode[ctypes.get_errno()])
print(libc.listxattr(b"f", None, 0) >= 30)
print(libc.listxattr(b"f", buf, 3), errno.errorcode[ctypes.get_errno()])
print(libc.listxattr(b"f", buf, 64))'
	ov_is "$ov_out" "$(printf '1\n-1 ERANGE\nTrue\n-1 ERANGE\n30')"
	# (the kernel copies f up even for the failed CREATE: the upper
	# layers are not compared here)
	ov_diff ov_tree .
}

@test "xattr: with userxattr, user.overlay.* marks opaque dirs and is hidden" {
	make_layers
	mkdir "$L1/uopq" "$L2/uopq"
	echo l2 >"$L2/uopq/below"
	setfattr -n user.overlay.opaque -v y "$L1/uopq"
	ov_mount_both -o userxattr
	ov_diff ls -A uopq opq
	# trusted.overlay.opaque is nothing with userxattr
	ov_is "$ov_out" "$(printf 'opq:\n\nuopq:')"
	ov_diff getfattr -d -m - uopq opq
	ov_is "$ov_out" "$(printf '%s\n' '# file: opq' \
		'trusted.overlay.opaque="y"' 'user.visible="yes"')"
	ov_expect ENODATA getxattr uopq user.overlay.opaque
	ov_ok sh -c 'rm -r d && mkdir d && echo x >>f'
	ov_compare_all
	[ "$(getfattr --only-values -n user.overlay.opaque "$VU/d")" = y ]
}

@test "xattr: with userxattr, setting user.overlay.* through the mount is inert" {
	make_layers
	rm "$L3/opq" "$L2/opq" -r
	ov_mount_both -o userxattr
	ov_overlay_xattr_set_is_inert user
}

@test "xattr: POSIX ACLs on lower objects, and setfacl copies up" {
	command -v setfacl >/dev/null || vn_skip "needs setfacl"
	echo x >"$L1/f"
	mkdir "$L2/d"
	setfacl -m u:5:r "$L1/f"
	setfacl -d -m g:7:rx "$L2/d"
	ov_mount_both
	ov_diff getfacl -n f d
	ov_ok setfacl -m u:6:rw f
	ov_ok setfacl -m u:8:rwx d
	ov_ok touch d/inherits
	ov_diff getfacl -n f d d/inherits
	ov_expect 0 access f R_OK
	ov_compare_all
	getfacl -n "$VU/f" | grep -q 'user:6:rw-'
}

@test "xattr: symlinks and special files" {
	ln -s nowhere "$L1/link"
	mkfifo "$L1/fifo"
	setfattr -h -n trusted.l -v link "$L1/link"
	ov_mount_both
	ov_expect link lgetxattr link trusted.l
	ov_expect ENOENT getxattr link trusted.l
	ov_expect EPERM lsetxattr link user.x y
	ov_expect 0 lsetxattr link trusted.m z
	ov_expect z lgetxattr link trusted.m
	ov_expect EPERM setxattr fifo user.f v
	ov_expect 0 setxattr fifo trusted.f v
	ov_compare_all
}

@test "xattr: removing an xattr a lower file lacks copies nothing up" {
	echo x >"$L1/f"
	ln "$L1/f" "$L1/g"
	setfattr -n user.there -v 1 "$L1/f"
	ov_mount_both
	ov_expect ENODATA removexattr f user.missing
	ov_diff stat -c '%n %h' f g
	ov_is "$ov_out" "$(printf 'f 2\ng 2')"
	ov_expect 0 removexattr f user.there
	ov_compare_all
}
