#!/usr/bin/env bats
# What the common operations cost in requests, counted in the daemon's -d
# trace: a change that makes the kernel send more for creating, stating,
# reading or removing a file, or for git status, fails here. The counts
# are per file over 100 files; what each request is for is in
# tests/bench/README ("Requests per file"). Passthrough mounts use
# cache=always, whose timeouts do not run out during a test (the default's
# one second would make warm counts depend on the machine's speed);
# overlay mounts use their defaults.

load helpers

N=100

setup() {
	export LC_ALL=C
	vn_setup
	LOWER=$WORK/lower UPPER=$WORK/upper
	mkdir -p "$LOWER" "$UPPER" "$WORK/ovwork"
}

teardown() {
	vn_teardown
}

# rq_mount pt|ovl: mount with the -d trace in $WORK/daemon.log; T is a
# directory of the mount to work in.
rq_mount() {
	if [ "$1" = pt ]; then
		vn_mount -d -o cache=always
	else
		"$VENEERFS" -d -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK/ovwork" \
			"$MNT" 2>"$WORK/daemon.log" &
		VN_PID=$!
		vn_wait_mount "$MNT"
	fi
	T=$MNT/t
}

# rq_unmount: unmount, and empty the trees for the next mode.
rq_unmount() {
	vn_unmount
	rm -rf "$SRC"/* "$UPPER"/*
}

# settle: the kernel sends RELEASE after close(2) has returned; wait
# until no file is open in the daemon and the trace has stopped growing.
settle() {
	local a b
	vn_wait_closed
	b=$(wc -l <"$WORK/daemon.log")
	while :; do
		sleep 0.1
		a=$(wc -l <"$WORK/daemon.log")
		[ "$a" = "$b" ] && return
		b=$a
	done
}

# mark: requests counted from here on.
mark() {
	settle
	MARK=$(wc -l <"$WORK/daemon.log")
}

# count OPCODE: requests of that kind since the mark.
count() {
	tail -n +$((MARK + 1)) "$WORK/daemon.log" | grep -c "^unique: [0-9]*, opcode: $1 (" || true
}

# total: all requests since the mark but FORGETs (sent when the kernel
# prunes its caches, not for the operation).
total() {
	tail -n +$((MARK + 1)) "$WORK/daemon.log" | grep '^unique: [0-9]*, opcode: ' |
		grep -vc 'opcode: \(BATCH_\)\?FORGET (' || true
}

# show: the counts since the mark, for the test's output.
show() {
	tail -n +$((MARK + 1)) "$WORK/daemon.log" |
		sed -n 's/^unique: [0-9]*, opcode: \([A-Z_]*\) .*/\1/p' | sort | uniq -c >&2
}

make_files() {
	local i
	mkdir "$1"
	for ((i = 0; i < N; i++)); do
		echo "file $i" >"$1/f$i"
	done
}

# Each new file: LOOKUP of the new name (the kernel looks up before it
# creates), CREATE, one GETXATTR of security.capability at the first
# write, RELEASE, and GETATTR of the parent, whose attributes the kernel
# drops after every change in it. No FLUSH (ext4's close reports
# nothing), no SETATTR, no WRITE with passthrough.
@test "requests: creating a file with data costs five requests" {
	local mode
	for mode in pt ovl; do
		rq_mount $mode
		mkdir "$T"
		mark
		make_files "$T/d"
		settle
		show
		[ "$(count CREATE)" = $N ]
		[ "$(count LOOKUP)" -le $((N + 1)) ]
		[ "$(count RELEASE)" = $N ]
		[ "$(count GETXATTR)" -le $N ]
		[ "$(count GETATTR)" -le $((N + 1)) ]
		[ "$(count FLUSH)" = 0 ]
		[ "$(count WRITE)" = 0 ]
		[ "$(total)" -le $((5 * N + 3)) ]
		rq_unmount
	done
}

# Warm: stat from the kernel's cache, no request. Cold: one READDIRPLUS
# listing the directory answers every stat (no LOOKUP or GETATTR per
# file).
@test "requests: stat of every file, warm and cold" {
	local mode
	for mode in pt ovl; do
		rq_mount $mode
		make_files "$T"
		find "$T" -printf '%s %m\n' >/dev/null
		mark
		find "$T" -printf '%s %m\n' >/dev/null
		settle
		show
		[ "$(total)" -le 4 ]
		[ "$(count LOOKUP)" = 0 ]
		[ "$(count GETATTR)" -le 1 ]
		sync
		echo 3 >/proc/sys/vm/drop_caches
		mark
		find "$T" -printf '%s %m\n' >/dev/null
		settle
		show
		[ "$(count LOOKUP)" -le 2 ]
		[ "$(count GETATTR)" -le 2 ]
		[ "$(count READDIRPLUS)" -ge 1 ]
		[ "$(total)" -le 12 ]
		rq_unmount
	done
}

# A warm read of a small file: OPEN and RELEASE, no READ (the kernel kept
# the pages), no FLUSH (read-only), at most one GETATTR (the kernel drops
# the atime it holds after reading through the daemon).
@test "requests: reading small files, warm" {
	local mode
	for mode in pt ovl; do
		rq_mount $mode
		make_files "$T"
		cat "$T"/f* >/dev/null
		cat "$T"/f* >/dev/null
		mark
		cat "$T"/f* >/dev/null
		settle
		show
		[ "$(count OPEN)" = $N ]
		[ "$(count RELEASE)" = $N ]
		[ "$(count READ)" = 0 ]
		[ "$(count FLUSH)" = 0 ]
		[ "$(count LOOKUP)" = 0 ]
		[ "$(total)" -le $((3 * N + 4)) ]
		rq_unmount
	done
}

# rm -rf of a known directory: UNLINK per file and the parent's GETATTR
# (dropped after each change, as for a create); no LOOKUP, the names are
# cached.
@test "requests: removing files" {
	local mode
	for mode in pt ovl; do
		rq_mount $mode
		make_files "$T"
		find "$T" >/dev/null
		mark
		rm -rf "$T"
		settle
		show
		[ "$(count UNLINK)" = $N ]
		[ "$(count RMDIR)" = 1 ]
		[ "$(count LOOKUP)" = 0 ]
		[ "$(total)" -le $((2 * N + 8)) ]
		rq_unmount
	done
}

# git status in a clean repository, warm: about 16 files of .git opened
# (HEAD, config, the index, refs), whatever the size of the work tree, no
# file of which is looked up, opened or read.
@test "requests: git status, warm" {
	local mode
	command -v git >/dev/null || vn_skip "needs git"
	for mode in pt ovl; do
		rq_mount $mode
		make_files "$T"
		# Older than the index: no entry is "racily clean", which git
		# would read again to compare.
		touch -d '-1 hour' "$T"/f*
		git -C "$T" init -q
		git -C "$T" add -A
		git -C "$T" -c user.name=t -c user.email=t@localhost commit -q -m t
		git -C "$T" status --porcelain >/dev/null
		git -C "$T" status --porcelain >/dev/null
		mark
		[ -z "$(git -C "$T" status --porcelain)" ]
		settle
		show
		[ "$(count LOOKUP)" -le 5 ]
		[ "$(count OPEN)" -le 20 ]
		[ "$(count READ)" -le 5 ]
		[ "$(total)" -le 60 ]
		rq_unmount
	done
}
