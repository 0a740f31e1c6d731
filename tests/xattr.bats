#!/usr/bin/env bats
# Extended attributes: the same calls on the mount and on $REF, a plain
# ext4 directory, must give the same values, lists and errno, as root and
# as nobody; with -o noxattr every xattr call is refused.

load helpers

setup() {
	export LC_ALL=C
	vn_setup
	vn_mount -o allow_other
}

teardown() {
	vn_teardown
}

# user.* set/get/list/remove on the object $1 (a file or a dir).
user_steps() {
	local o=$1
	"$VNOP" listxattr "$o"
	"$VNOP" setxattr "$o" user.a 1
	"$VNOP" setxattr "$o" user.b "two words"
	"$VNOP" setxattr "$o" user.empty ""
	"$VNOP" getxattr "$o" user.a
	"$VNOP" getxattr "$o" user.b
	"$VNOP" getxattr "$o" user.empty
	"$VNOP" listxattr "$o"
	getfattr -d --absolute-names "$o"
	"$VNOP" setxattr "$o" user.a 111 REPLACE
	"$VNOP" getxattr "$o" user.a
	"$VNOP" setxattr "$o" user.a x CREATE
	"$VNOP" setxattr "$o" user.new x REPLACE
	"$VNOP" removexattr "$o" user.a
	"$VNOP" getxattr "$o" user.a
	"$VNOP" removexattr "$o" user.a
	"$VNOP" listxattr "$o"
	"$VNOP" getxattr "$o" user.missing
	"$VNOP" getxattr missing user.a
	"$VNOP" setxattr "$o" "user.$(printf 'n%.0s' {1..256})" v
	"$VNOP" setxattr "$o" bogus.name v
}

USER_WANT="-
0
0
0
1
two words

user.a,user.b,user.empty
# file: OBJ
user.a=\"1\"
user.b=\"two words\"
user.empty=\"\"

0
111
EEXIST
ENODATA
0
ENODATA
ENODATA
user.b,user.empty
ENODATA
ENOENT
ERANGE
EOPNOTSUPP"

@test "user.* on a file: set, get, list, replace, remove, and their errors" {
	vn_diff touch f
	vn_diff user_steps f
	[ "$vn_out" = "${USER_WANT/OBJ/f}" ]
	[ "$(getfattr --only-values -n user.b "$SRC/f")" = "two words" ]
}

@test "user.* on a directory: the same as on ext4" {
	vn_diff mkdir d
	vn_diff user_steps d
	[ "$vn_out" = "${USER_WANT/OBJ/d}" ]
	[ "$(getfattr --only-values -n user.b "$SRC/d")" = "two words" ]
}

@test "xattrs set in SOURCE show through the mount, large values too" {
	touch "$SRC/f"
	big=$(head -c 3000 /dev/zero | tr '\0' v)
	setfattr -n user.big -v "$big" "$SRC/f"
	setfattr -n user.small -v s "$SRC/f"
	[ "$(getfattr --only-values -n user.big "$MNT/f")" = "$big" ]
	[ "$(cd "$MNT" && "$VNOP" listxattr f)" = user.big,user.small ]
	# getfattr asks for the size first, then the value
	[ "$(getfattr -d "$MNT/f" | grep -c '^user\.')" = 2 ]
	setfattr -n user.big -v "${big}w" "$MNT/f"
	[ "$(getfattr --only-values -n user.big "$SRC/f")" = "${big}w" ]
}

# Buffers too small for the value or the list give ERANGE; a zero size
# asks for the size.
SIZES_PY='
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
def show(what, r):
    print(what, r if r >= 0 else os.strerror(ctypes.get_errno()))
show("get 4:", libc.getxattr(b"f", b"user.v", buf, 4))
show("get 0:", libc.getxattr(b"f", b"user.v", None, 0))
show("get 10:", libc.getxattr(b"f", b"user.v", buf, 10))
show("list 2:", libc.listxattr(b"f", buf, 2))
show("list 0:", libc.listxattr(b"f", None, 0))
show("list 64:", libc.listxattr(b"f", buf, 64))'

@test "getxattr and listxattr: size queries and ERANGE as on ext4" {
	vn_diff sh -c 'touch f; setfattr -n user.v -v 0123456789 f; setfattr -n user.w -v x f'
	vn_diff python3 -c "$SIZES_PY"
	[ "$vn_out" = "get 4: Numerical result out of range
get 0: 10
get 10: 10
list 2: Numerical result out of range
list 0: 14
list 64: 14" ]
}

trusted_steps() {
	touch f
	mkdir d
	"$VNOP" setxattr f trusted.t one
	"$VNOP" setxattr d trusted.t two
	"$VNOP" getxattr f trusted.t
	"$VNOP" getxattr d trusted.t
	"$VNOP" listxattr f
	"$VNOP" removexattr f trusted.t
	"$VNOP" getxattr f trusted.t
	"$VNOP" listxattr f
}

@test "trusted.* as root: set, get, list, remove" {
	vn_diff trusted_steps
	[ "$vn_out" = "$(printf '0\n0\none\ntwo\ntrusted.t\n0\nENODATA\n-')" ]
	[ "$(getfattr --only-values -n trusted.t "$SRC/d")" = two ]
}

make_owned() {
	local m
	for m in 600 644 666; do
		touch "$1/m$m"
		chmod "$m" "$1/m$m"
		setfattr -n user.x -v root "$1/m$m"
	done
	setfattr -n trusted.t -v secret "$1/m644"
}

nobody_steps() {
	local m
	for m in 600 644 666; do
		echo "m$m: $(as_nobody "$VNOP" getxattr m$m user.x)" \
			"$(as_nobody "$VNOP" setxattr m$m user.y nobody)" \
			"$(as_nobody "$VNOP" removexattr m$m user.x)"
	done
	as_nobody "$VNOP" setxattr m666 trusted.n v
	as_nobody "$VNOP" getxattr m644 trusted.t
	as_nobody "$VNOP" removexattr m644 trusted.t
}

@test "as nobody on root's files: EACCES and EPERM as on ext4" {
	make_owned "$SRC"
	make_owned "$REF"
	vn_diff nobody_steps
	[ "$vn_out" = "m600: EACCES EACCES EACCES
m644: root EACCES EACCES
m666: root 0 0
EPERM
ENODATA
EPERM" ]
	[ "$(getfattr --only-values -n user.y "$SRC/m666")" = nobody ]
}

@test "as nobody, listxattr hides trusted.* as ext4 does" {
	make_owned "$SRC"
	make_owned "$REF"
	vn_diff as_nobody "$VNOP" listxattr m644
	[ "$vn_out" = user.x ]
}

symlink_steps() {
	echo data >f
	ln -s f l
	"$VNOP" lsetxattr l user.x v
	"$VNOP" lgetxattr l user.x
	"$VNOP" llistxattr l
	# without the l, the call goes to the target
	"$VNOP" setxattr l user.x target
	"$VNOP" getxattr f user.x
	"$VNOP" lgetxattr l user.x
	# trusted.* may be set on the link itself, as root
	"$VNOP" lsetxattr l trusted.t link
	"$VNOP" lgetxattr l trusted.t
	"$VNOP" llistxattr l
	"$VNOP" getxattr l trusted.t
	"$VNOP" lremovexattr l trusted.t
	"$VNOP" llistxattr l
}

@test "symlinks: user.* gives EPERM like ext4; trusted.* on the link itself" {
	vn_diff symlink_steps
	[ "$vn_out" = "EPERM
ENODATA
-
0
target
ENODATA
0
link
trusted.t
ENODATA
0
-" ]
	[ "$(getfattr --only-values -n user.x "$SRC/f")" = target ]
}

@test "symlinks: trusted.* set through the mount lands on the link in SOURCE" {
	ln -s f "$MNT/l"
	(cd "$MNT" && vn_expect 0 lsetxattr l trusted.t link)
	[ "$(getfattr -h --only-values -n trusted.t "$SRC/l")" = link ]
	[ "$(cd "$MNT" && "$VNOP" lgetxattr l trusted.t)" = link ]
}

acl_steps() {
	echo secret >granted
	chmod 0600 granted
	setfacl -m u:nobody:r granted
	echo secret >denied
	chmod 0644 denied
	setfacl -m u:nobody:- denied
	getfacl -c granted denied 2>/dev/null
	stat -c '%n %a' granted denied
	as_nobody "$VNOP" open granted O_RDONLY
	as_nobody "$VNOP" access granted R_OK
	as_nobody "$VNOP" open denied O_RDONLY
	as_nobody "$VNOP" access denied R_OK
}

@test "POSIX ACLs set through the mount grant and deny as on ext4" {
	command -v setfacl >/dev/null || vn_skip "needs setfacl"
	vn_diff acl_steps
	echo "$vn_out"
	[ "$(tail -4 <<<"$vn_out")" = "$(printf '0\n0\nEACCES\nEACCES')" ]
}

@test "-o noxattr: setfattr and getfattr fail with 'Operation not supported'" {
	vn_unmount
	touch "$SRC/f"
	setfattr -n user.a -v 1 "$SRC/f"
	vn_mount -o noxattr
	run setfattr -n user.b -v 2 "$MNT/f"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not supported"* ]]
	run getfattr -n user.a "$MNT/f"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not supported"* ]]
	cd "$MNT"
	vn_expect EOPNOTSUPP getxattr f user.a
	vn_expect EOPNOTSUPP setxattr f user.b 2
	vn_expect EOPNOTSUPP removexattr f user.a
	vn_expect EOPNOTSUPP listxattr f
	cd /
	# nothing reached SOURCE
	[ "$(getfattr -d --absolute-names "$SRC/f" | grep -c '^user')" = 1 ]
}
