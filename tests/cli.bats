#!/usr/bin/env bats
# The command line and the daemon's life: help and version, one clear line
# for each kind of bad input with nothing left mounted or running,
# daemonizing, signals, -s and -d, and recovery after the daemon is killed.

load helpers

setup() {
	vn_setup
}

teardown() {
	cd /
	# A daemonized veneerfs is no child of ours: unmount it by hand.
	if [ -z "${VN_PID:-}" ] && [ -n "${MNT:-}" ] && [ "$(mounts_at)" -gt 0 ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	fi
	vn_teardown
}

# Is process $1 gone? A zombie counts as gone: it has exited, and the
# init of a container may be slow to reap it.
gone() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# Wait (bounded) for process $1 to exit.
wait_gone() {
	local i
	for i in $(seq 1 200); do
		gone "$1" && return 0
		sleep 0.05
	done
	echo "process $1 is still running" >&2
	return 1
}

# Processes whose command line names this test's directory.
ours() {
	pgrep -f -- "$WORK" || true
}

# Mount entries at $MNT.
mounts_at() {
	awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l
}

# bad_input WORD ARGS...: veneerfs ARGS (daemon mode) must fail with
# exactly one line on stderr that names WORD, print nothing on stdout,
# and leave nothing mounted and no process behind.
bad_input() {
	local word=$1 status=0 before procs
	shift
	before=$(mounts_at)
	procs=$(ours)
	"$VENEERFS" "$@" >"$WORK/out" 2>"$WORK/err" || status=$?
	echo "exit $status, stderr:"
	cat "$WORK/err"
	[ "$status" -ne 0 ]
	[ "$(wc -l <"$WORK/err")" -eq 1 ]
	grep -qF -- "$word" "$WORK/err"
	[ ! -s "$WORK/out" ]
	[ "$(mounts_at)" -eq "$before" ]
	[ "$(ours)" = "$procs" ]
}

@test "-h and --help print usage and exit 0, mounting nothing" {
	local opt
	for opt in -h --help; do
		run "$VENEERFS" $opt "$SRC" "$MNT"
		[ "$status" -eq 0 ]
		[[ "$output" == *usage:*SOURCE\ MOUNTPOINT* ]]
		[[ "$output" == *cache=never\|auto\|always* ]]
		[ "$(mounts_at)" -eq 0 ]
	done
}

@test "-V and --version print the version and exit 0" {
	local opt
	for opt in -V --version; do
		run "$VENEERFS" $opt
		[ "$status" -eq 0 ]
		[[ "${lines[0]}" =~ ^veneerfs\ [0-9]+\.[0-9]+ ]]
		[[ "$output" == *libfuse\ 3.* ]]
	done
}

@test "bad input: SOURCE missing, nonexistent, or not a directory" {
	bad_input SOURCE
	bad_input "$WORK/nope" "$WORK/nope" "$MNT"
	touch "$WORK/file"
	bad_input "not a directory" "$WORK/file" "$MNT"
}

@test "bad input: MOUNTPOINT missing, nonexistent, or not a directory" {
	bad_input MOUNTPOINT "$SRC"
	bad_input "$WORK/nope" "$SRC" "$WORK/nope"
	touch "$WORK/file"
	bad_input "not a directory" "$SRC" "$WORK/file"
}

@test "bad input: too many arguments" {
	bad_input "too many" "$SRC" "$MNT" "$WORK/third"
}

@test "bad input: unknown -o option and unknown dash option" {
	bad_input bogus -o bogus "$SRC" "$MNT"
	bad_input frobnicate -o ro,frobnicate=3 "$SRC" "$MNT"
	bad_input -Z -Z "$SRC" "$MNT"
	bad_input --frob --frob "$SRC" "$MNT"
}

@test "bad input: cache=bogus" {
	bad_input cache=bogus -o cache=bogus "$SRC" "$MNT"
}

@test "bad input: attr_timeout=abc" {
	bad_input attr_timeout -o attr_timeout=abc "$SRC" "$MNT"
}

@test "bad input: attr_timeout=-1" {
	bad_input attr_timeout -o attr_timeout=-1 "$SRC" "$MNT"
}

@test "bad input: entry_timeout=-5 and entry_timeout=inf" {
	bad_input entry_timeout -o entry_timeout=-5 "$SRC" "$MNT"
	bad_input entry_timeout -o entry_timeout=inf "$SRC" "$MNT"
}

@test "bad input: numbers out of range or not numbers, one line each" {
	local v
	for v in abc -1 0 1x 4294967295 ""; do
		bad_input "max_idle_threads=$v" -o "max_idle_threads=$v" "$SRC" "$MNT"
	done
	for v in abc -5 4294967296 ""; do
		bad_input "max_read=$v" -o "max_read=$v" "$SRC" "$MNT"
	done
	bad_input "squash_to_uid=-3" -o lowerdir="$SRC",squash_to_uid=-3 "$MNT"
	bad_input "fsync=2" -o lowerdir="$SRC",fsync=2 "$MNT"
}

@test "bad input: empty names and a trailing -o, one line each" {
	bad_input "fsname=" -o fsname= "$SRC" "$MNT"
	bad_input "subtype=" -o subtype= "$SRC" "$MNT"
	bad_input "'-o'" "$SRC" "$MNT" -o
}

@test "max_idle_threads=N within range is accepted" {
	vn_mount -o max_idle_threads=1
	[ "$(ls "$MNT" | wc -l)" -eq 0 ]
	vn_unmount
	vn_mount -o max_idle_threads=100000
	touch "$MNT/f"
	[ -f "$SRC/f" ]
}

@test "bad input: writeback with cache=never" {
	bad_input writeback -o writeback,nopassthrough,cache=never "$SRC" "$MNT"
}

@test "bad input: a mountpoint that is already a mount" {
	vn_mount
	echo hello >"$SRC/f"
	local pid=$VN_PID
	bad_input "already" "$SRC" "$MNT"
	# the first mount is untouched and still served by the first daemon
	[ "$(mounts_at)" -eq 1 ]
	[ "$(cat "$MNT/f")" = hello ]
	[ "$(ours)" = "$pid" ]
	vn_unmount
}

@test "daemon mode: returns with the mount ready; fusermount3 -u ends the daemon" {
	"$VENEERFS" "$SRC" "$MNT" 2>"$WORK/err"
	# ready at once, no waiting
	[ "$(mounts_at)" -eq 1 ]
	echo data >"$MNT/f"
	[ "$(cat "$SRC/f")" = data ]
	local pid
	pid=$(ours)
	echo "daemon: $pid"
	[ -n "$pid" ]
	[ "$(wc -w <<<"$pid")" -eq 1 ]
	# detached from the test: not our child, no terminal, own session
	[ "$(awk '{ print $4 }' "/proc/$pid/stat")" != $$ ]
	[ "$(awk '{ print $6 }' "/proc/$pid/stat")" = "$pid" ]
	fusermount3 -u "$MNT"
	wait_gone "$pid"
	[ "$(mounts_at)" -eq 0 ]
	[ ! -s "$WORK/err" ]
}

@test "daemon mode: relative SOURCE and MOUNTPOINT are resolved before it detaches" {
	echo hi >"$SRC/f"
	(cd "$WORK" && "$VENEERFS" src mnt/)
	[ "$(cat "$MNT/f")" = hi ]
	# the source is shown as an absolute path
	[ "$(awk -v m="$MNT" '$5 == m { print $(NF - 1) }' /proc/self/mountinfo)" = "$SRC" ]
	local pid
	pid=$(pgrep -x -f -- "$VENEERFS src mnt/")
	[ -n "$pid" ]
	fusermount3 -u "$MNT"
	wait_gone "$pid"
}

# Start a -f daemon whose SIGINT and SIGTERM are at their defaults (a
# background job of a script would otherwise inherit SIGINT ignored).
start_fg() {
	env --default-signal=INT,TERM "$VENEERFS" -f "$@" "$SRC" "$MNT" \
		2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
}

# Send signal $1 to the -f daemon: it must unmount and exit 0.
signal_check() {
	local status=0
	echo data >"$MNT/f"
	kill -s "$1" "$VN_PID"
	wait "$VN_PID" || status=$?
	VN_PID=
	echo "exit status $status"
	cat "$WORK/daemon.log"
	[ "$status" -eq 0 ]
	[ "$(mounts_at)" -eq 0 ]
	[ "$(cat "$SRC/f")" = data ]
}

@test "SIGTERM to a -f daemon unmounts cleanly and exits 0" {
	start_fg
	signal_check TERM
}

@test "SIGINT to a -f daemon unmounts cleanly and exits 0" {
	start_fg
	signal_check INT
}

@test "-s: a single-threaded daemon serves the mount" {
	vn_mount -s
	mkdir "$MNT/d"
	seq 1 1000 >"$MNT/d/f"
	# parallel requests are served one by one
	local a b
	cat "$MNT/d/f" >/dev/null &
	a=$!
	cat "$MNT/d/f" >/dev/null &
	b=$!
	ls -l "$MNT/d" >/dev/null
	wait $a
	wait $b
	[ "$(cat "$SRC/d/f" | wc -l)" = 1000 ]
	# One thread serves; the other is the SIGUSR1 statistics thread.
	[ "$(cat /proc/"$VN_PID"/task/*/comm | grep -vcx vn-stats)" -eq 1 ]
	[ "$(ls /proc/"$VN_PID"/task | wc -l)" -eq 2 ]
	vn_unmount
}

@test "-d: each request is printed on stderr, and the daemon stays in front" {
	# Without kernel passthrough, so that READ and WRITE reach the daemon.
	vn_mount -d -o nopassthrough
	echo hi >"$MNT/f"
	cat "$MNT/f" >/dev/null
	ls "$MNT" >/dev/null
	# -d implies -f: the daemon is still our child
	kill -0 "$VN_PID"
	vn_unmount
	# the log is complete once the daemon has exited
	local op
	for op in INIT LOOKUP CREATE WRITE RELEASE OPEN READ OPENDIR \
		RELEASEDIR; do
		grep -q "opcode: $op (" "$WORK/daemon.log" ||
			{ echo "no $op in the log" >&2; return 1; }
	done
	grep -q 'opcode: READDIR\(PLUS\)\? (' "$WORK/daemon.log"
}

@test "crash: after kill -9 the mount says ENOTCONN; remount finds fsync'ed data" {
	head -c 1M /dev/urandom >"$WORK/data"
	vn_mount
	dd if="$WORK/data" of="$MNT/f" bs=64k conv=fsync status=none
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"synced\n")
os.fsync(fd)
os.close(fd)' "$MNT/g"
	kill -9 "$VN_PID"
	wait "$VN_PID" || true
	VN_PID=
	vn_expect ENOTCONN stat "$MNT/f"
	vn_expect ENOTCONN open "$MNT/g" O_RDONLY
	run ls "$MNT"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Transport endpoint is not connected"* ]]
	[ "$(mounts_at)" -eq 1 ]
	fusermount3 -u "$MNT"
	[ "$(mounts_at)" -eq 0 ]
	vn_mount
	cmp "$WORK/data" "$MNT/f"
	[ "$(cat "$MNT/g")" = synced ]
	vn_unmount
}
