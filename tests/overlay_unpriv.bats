#!/usr/bin/env bats
# Overlay mode without privilege: as root of a user namespace (unshare -Ur),
# which has no capability over the files outside it, so no trusted.* xattrs
# and no mknod of devices. veneerfs there against the kernel's overlayfs
# with userxattr, which a user namespace may mount: overlay xattrs are
# user.overlay.*, and fuse-overlayfs' .wh. markers in lower layers count.
# The layers are made outside, as real root; each test's checks run in the
# namespace (ov_userns). Where the whiteouts and opaque marks written there
# may take a fallback form, the upper layers are compared with --fold-wh.

load helpers
load overlay

setup() {
	ov_setup
	command -v unshare >/dev/null || vn_skip "needs unshare"
	unshare -Ur true 2>/dev/null || vn_skip "cannot make a user namespace"
}

make_layers() {
	local l
	for l in "$U" "$L1" "$L2" "$L3"; do
		mkdir -p "$l/d/sub"
		echo "${l##*/}" >"$l/d/${l##*/}"
		echo "${l##*/}" >"$l/d/sub/common"
		setfattr -n user.layer -v "${l##*/}" "$l/d/${l##*/}"
	done
	echo l3 >"$L3/d/wh3"
	mknod "$L2/d/wh3" c 0 0          # made here, as real root
	mkdir -p "$L1/uopq" "$L2/uopq"
	echo l2 >"$L2/uopq/hidden"
	echo l1 >"$L1/uopq/seen"
	setfattr -n user.overlay.opaque -v y "$L1/uopq"
	echo lf >"$L1/lf"
	echo lf2 >"$L2/lf2"
	mkdir -p "$L3/ld/x"
	echo y >"$L3/ld/x/y"
}

@test "unpriv: veneerfs and the kernel with userxattr show the same tree" {
	make_layers
	chown 1234:1234 "$L2/lf2" # not mapped in the namespace: overflow ids
	ov_userns <<'EOF'
ov_mount_both -o userxattr
ov_diff ov_tree .
ov_diff ls -A d uopq
ov_is "$ov_out" "$(printf '%s\n' d: l1 l2 l3 sub u '' uopq: seen)"
ov_diff stat -c '%n %u %g' lf2
ov_is "$ov_out" "lf2 65534 65534"
ov_diff getfattr -d -m - d/l2 uopq
ov_is "$ov_out" "$(printf '%s\n' '# file: d/l2' 'user.layer="l2"')"
EOF
}

@test "unpriv: .wh. whiteouts and .wh..wh..opq markers in lower layers count" {
	make_layers
	: >"$L1/.wh.lf2"
	: >"$L1/d/.wh.l3"
	mkdir -p "$L1/o" "$L3/o"
	echo l3 >"$L3/o/below"
	echo l1 >"$L1/o/above"
	: >"$L1/o/.wh..wh..opq"
	ov_userns <<'EOF'
ov_mount_both -o userxattr
ov_expect ENOENT stat lf2
ov_expect ENOENT stat d/l3
ov_expect ENOENT stat .wh.lf2
ov_diff ls -A o d
ov_is "$ov_out" "$(printf '%s\n' d: l1 l2 sub u '' o: above)"
ov_diff ov_tree .
EOF
}

@test "unpriv: trusted.overlay.* means nothing with userxattr" {
	make_layers
	mkdir -p "$L1/topq" "$L2/topq"
	echo l2 >"$L2/topq/visible"
	setfattr -n trusted.overlay.opaque -v y "$L1/topq"
	ov_userns <<'EOF'
ov_mount_both -o userxattr
ov_diff ls -A topq
ov_is "$ov_out" visible
ov_diff ov_tree .
EOF
}

@test "unpriv: copy-up, whiteouts and opaque dirs written in the namespace" {
	make_layers
	ov_userns <<'EOF'
ov_mount_both -o userxattr
ov_ok sh -c 'echo more >>lf && chmod 600 d/l2 &&
	setfattr -n user.new -v 1 d/l3 && rm lf2 d/l1 && rm -r ld &&
	mkdir ld && touch ld/new && mv d/sub/common d/moved &&
	ln lf hard && ln -s t sym && mkfifo fifo && mkdir -p n/a &&
	echo x >n/a/f'
ov_diff ov_tree .
ov_expect ENOENT stat lf2
ov_diff ls -A ld
ov_is "$ov_out" new
ov_unmount_both
ov_diff_upper ov_tree --fold-wh .
ov_mount_again
ov_diff ov_tree .
EOF
}

@test "unpriv: unmapped owners cannot be set; EXDEV and readdir as with root" {
	make_layers
	ov_userns <<'EOF'
ov_mount_both -o userxattr
ov_expect EINVAL chown lf 5 5
ov_expect EXDEV rename ld ld2
ov_expect EXDEV rename d d2
ov_diff ov_dirents check d
ov_is "$ov_out" "entries 7 distinct 7 dot 1 dotdot 1"
ov_diff ov_dirents seek d
ov_is "$ov_out" "ok 7"
ov_diff stat -c '%n %h' d ld
ov_is "$ov_out" "$(printf 'd 1\nld 3')"
EOF
}

@test "unpriv: lower layers alone, read only" {
	make_layers
	: >"$L1/d/.wh.l2"
	ov_userns <<'EOF'
ov_mount_both -o userxattr --no-upper
ov_diff ov_tree .
ov_expect EROFS open lf O_WRONLY
ov_expect EROFS unlink lf
ov_expect EROFS mkdir new 0755
ov_diff ls -A d
ov_is "$ov_out" "$(printf '%s\n' l1 l3 sub)"
EOF
}
