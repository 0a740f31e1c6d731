#!/usr/bin/env bats
# Copy-up and whiteout changes when a system call fails deep inside them
# (injected with tests/faultinject.so, see there): the change fails with
# that error, and the overlay shows what it showed before, on the mount
# and on disk. Nothing of it is half done: no partial copy, no lower file
# shown again, no xattr silently left out.

load helpers

FAULTS=${FAULTINJECT:-$(dirname "$VNOP")/faultinject.so}

setup() {
	vn_setup
	[ -f "$FAULTS" ] || vn_skip "needs $FAULTS (make check builds it)"
	L=$WORK/l U=$WORK/u W=$WORK/w
	mkdir "$L" "$U" "$W"
	chmod 755 "$L"
}

teardown() {
	vn_teardown
}

# faults RULES: the injector's rules from now on ("" for none).
faults() {
	printf '%s\n' "$1" >"$WORK/faults"
}

# mount_faulty RULES [OPTS]: the overlay of $L with upper $U, the daemon
# running with the injector and RULES.
mount_faulty() {
	local wrapper=$WORK/veneerfs-faulty
	faults "$1"
	cat >"$wrapper" <<EOF
#!/bin/sh
export LD_PRELOAD=$FAULTS VN_FAULT_FILE=$WORK/faults
# A sanitized daemon wants its runtime first; the injector goes before it.
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "$VENEERFS" "\$@"
EOF
	chmod 755 "$wrapper"
	"$wrapper" -f -o "lowerdir=$L,upperdir=$U,workdir=$W${2:+,$2}" \
		"$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
}

# Nothing but the work directory's own "work" is left in the workdir.
work_is_empty() {
	[ "$(find "$W/work" -mindepth 1 | wc -l)" -eq 0 ]
}

@test "an xattr that cannot be read fails the copy-up, which leaves nothing" {
	echo data >"$L/f"
	setfattr -n user.a -v 1 "$L/f"
	setfattr -n user.b -v 2 "$L/f"
	mount_faulty lgetxattr=user.b:5
	run sh -c "echo more >>'$MNT/f'"
	[ "$status" -ne 0 ]
	[[ $output == *"Input/output error"* ]]
	[ "$(cat "$MNT/f")" = data ]
	[ ! -e "$U/f" ]
	work_is_empty
	# Other files copy up as ever.
	echo g >"$L/g"
	echo more >>"$MNT/g"
	[ "$(cat "$U/g")" = "$(printf 'g\nmore')" ]
}

@test "an ACL or capability the upper layer refuses fails the copy-up" {
	echo data >"$L/f"
	setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "$L/f"
	echo acl >"$L/a"
	setfacl -m u:65534:r "$L/a"
	mount_faulty lsetxattr=security.capability:1,lsetxattr=system.posix_acl_access:95
	run chmod 600 "$MNT/f"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not permitted"* ]]
	run chmod 600 "$MNT/a"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not supported"* ]]
	[ ! -e "$U/f" ]
	[ ! -e "$U/a" ]
	work_is_empty
}

@test "a label the upper layer refuses is left out, and the log says so once" {
	echo data >"$L/f"
	echo data >"$L/g"
	setfattr -n user.label -v x "$L/f"
	setfattr -n user.label -v y "$L/g"
	setfattr -n user.kept -v z "$L/f"
	mount_faulty lsetxattr=user.label:95
	chmod 600 "$MNT/f" "$MNT/g"
	[ "$(stat -c %a "$U/f")" = 600 ]
	[ "$(getfattr --only-values -n user.kept "$U/f")" = z ]
	run getfattr -n user.label "$U/f"
	[ "$status" -ne 0 ]
	[ "$(grep -c 'such xattrs are left out' "$WORK/daemon.log")" -eq 1 ]
}

@test "an xattr list that grows while it is read: all of it, or no copy" {
	echo data >"$L/f"
	for i in 1 2 3 4 5 6 7 8; do
		setfattr -n "user.name-$i-$(printf '%0100d' 0)" -v $i "$L/f"
	done
	mount_faulty llistxattr=grow
	if chmod 600 "$MNT/f"; then
		[ "$(getfattr --absolute-names -d "$U/f" | grep -c '^user\.')" -eq 8 ]
	else
		[ ! -e "$U/f" ]
		[ "$(stat -c %a "$MNT/f")" = 644 ]
	fi
	work_is_empty
}

@test "short writes and no copy_file_range: the copy is whole" {
	head -c $((3 << 20)) /dev/urandom >"$L/big"
	truncate -s 8M "$L/big"
	mount_faulty copy_file_range=18,pwrite=short
	echo tail >>"$MNT/big"
	cmp <(head -c $((8 << 20)) "$U/big") "$L/big"
	[ "$(tail -c 5 "$U/big")" = tail ]
	# The hole after the data stays a hole.
	[ "$(stat -c %b "$U/big")" -lt 10000 ]
}

@test "whiteout=files: a whiteout that cannot be made fails the rename, which leaves the file" {
	echo lower >"$L/f"
	mount_faulty openat=.wh.:5 whiteout=files
	echo upper >>"$MNT/f"
	run mv "$MNT/f" "$MNT/g"
	[ "$status" -ne 0 ]
	[ "$(cat "$MNT/f")" = "$(printf 'lower\nupper')" ]
	[ ! -e "$MNT/g" ]
	[ ! -e "$U/g" ]
	[ -z "$(ls "$U" | grep '^\.wh\.')" ]
}

@test "whiteout=files: a dir that cannot be made opaque over a whiteout is not made" {
	mkdir "$L/d"
	echo hidden >"$L/d/x"
	mount_faulty "" whiteout=files
	rm -r "$MNT/d"
	[ -f "$U/.wh.d" ]
	faults setxattr=overlay.opaque:5,openat=.wh.:5
	run mkdir "$MNT/d"
	[ "$status" -ne 0 ]
	run ls "$MNT/d"
	[ "$status" -ne 0 ]
	[ ! -e "$U/d" ]
	[ -f "$U/.wh.d" ]
}
