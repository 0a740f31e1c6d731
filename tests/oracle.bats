#!/usr/bin/env bats
# The randomized oracle (oracle.c): one seeded sequence of operations on a
# veneerfs mount and on its reference at once, every result compared, then
# the whole trees. Passthrough is compared with plain ext4, overlay with
# the kernel's overlayfs over identical layers; -j runs processes at once.
#
# VENEERFS_STRESS_STEPS=N runs N steps per seed (default 2000);
# VENEERFS_STRESS_SEED=S starts at seed S (default: a fixed one, so that
# make check is repeatable; "random" for a new one each run, printed, so
# that a failure can be replayed).

load helpers

STEPS=${VENEERFS_STRESS_STEPS:-2000}

setup() {
	vn_setup
	ORACLE=$(dirname "$VNOP")/oracle
	[ -x "$ORACLE" ] || { echo "no oracle at $ORACLE" >&2; return 1; }
	SEED=${VENEERFS_STRESS_SEED:-20261121}
	if [ "$SEED" = random ]; then
		SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	fi
	echo "# seed $SEED, $STEPS steps" >&3
}

teardown() {
	if mountpoint -q "$WORK/km" 2>/dev/null; then umount "$WORK/km"; fi
	vn_teardown
}

# run_oracle ARGS...: the oracle, its report shown on failure.
run_oracle() {
	run "$ORACLE" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# Layers holding names of the oracle's pool (a b c d), with a whiteout, an
# xattr, a hard link and a symlink; then a veneerfs
# overlay on $MNT and the kernel's on $WORK/km, with their own uppers.
mount_overlays() {
	local l x
	for l in l1 l2; do
		for x in a b c; do
			mkdir -p "$WORK/$l/$x/b"
			echo "$l $x" >"$WORK/$l/$x/d"
			echo deep >"$WORK/$l/$x/b/c"
			setfattr -n user.k0 -v "$l" "$WORK/$l/$x/d"
		done
	done
	echo file >"$WORK/l2/d"
	ln "$WORK/l2/d" "$WORK/l2/a/a"
	ln -s b "$WORK/l1/c/a"
	rm "$WORK/l1/b/d" && mknod "$WORK/l1/b/d" c 0 0
	mkdir -p "$WORK/vu" "$WORK/vw" "$WORK/ku" "$WORK/kw" "$WORK/km"
	"$VENEERFS" -f -o "allow_other,lowerdir=$WORK/l1:$WORK/l2" \
		-o "upperdir=$WORK/vu,workdir=$WORK/vw" "$MNT" \
		2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	mount -t overlay overlay -o "lowerdir=$WORK/l1:$WORK/l2" \
		-o "upperdir=$WORK/ku,workdir=$WORK/kw" "$WORK/km"
}

@test "oracle: passthrough against ext4" {
	vn_mount -o allow_other
	run_oracle -s "$SEED" -n "$STEPS" "$MNT" "$REF"
	run_oracle -s $((SEED + 1)) -n "$STEPS" "$MNT" "$REF"
	vn_unmount
}

@test "oracle: overlay against the kernel's overlayfs" {
	mount_overlays
	run_oracle -s "$SEED" -n "$STEPS" "$MNT" "$WORK/km"
	vn_unmount
}

@test "oracle: four processes at once, passthrough against ext4" {
	vn_mount -o allow_other
	run_oracle -j 4 -s "$SEED" -n $((STEPS / 4)) "$MNT" "$REF"
	vn_unmount
}

@test "oracle: four processes at once, overlay against the kernel's" {
	mount_overlays
	run_oracle -j 4 -s "$SEED" -n $((STEPS / 4)) "$MNT" "$WORK/km"
	vn_unmount
}
