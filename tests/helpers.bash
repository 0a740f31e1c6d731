# Shared setup for the bats suites. Load with `load helpers`.
#
# Variables read:
#   VENEERFS   the daemon binary (set by `make check`; default: ../src/veneerfs
#              next to this file, for running bats by hand)
#   VN_TESTS   this directory (set by `make check`)
#   VNOP       the one-syscall probe, tests/vnop.c (set by `make check`;
#              default: ../tests/vnop next to the daemon's directory)
#   CI         when "true", a test that would skip fails instead
# Variables set by vn_setup:
#   SRC        the source directory, on the same ext4 as the reference
#   MNT        the mountpoint
#   REF        a plain ext4 directory for differential checks
#   VN_PID     the daemon's pid while mounted (foreground child of the test)

: "${VN_TESTS:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${VENEERFS:=$VN_TESTS/../src/veneerfs}"
: "${VNOP:=$(dirname "$VENEERFS")/../tests/vnop}"

# Skip a test, or fail it under CI where every test must run.
vn_skip() {
	if [ "${CI:-}" = true ]; then
		echo "cannot run under CI: $*" >&2
		return 1
	fi
	skip "$*"
}

vn_setup() {
	[ "$(id -u)" -eq 0 ] || vn_skip "needs root"
	[ -c /dev/fuse ] || vn_skip "needs /dev/fuse"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vntest.XXXXXX")
	SRC=$WORK/src
	MNT=$WORK/mnt
	REF=$WORK/ref
	mkdir -p "$SRC" "$MNT" "$REF"
	chmod 755 "$WORK" "$SRC" "$MNT" "$REF"
	VN_PID=
}

# Wait until $1 is (or with -u: is no longer) a mount point; fails after
# about 10 seconds. This waits for a condition, it does not guess a delay.
vn_wait_mount() {
	local want=mounted i
	if [ "$1" = -u ]; then want=unmounted; shift; fi
	for i in $(seq 1 200); do
		if mountpoint -q "$1"; then
			[ $want = mounted ] && return 0
		else
			[ $want = unmounted ] && return 0
		fi
		sleep 0.05
	done
	echo "timed out waiting for $1 to be $want" >&2
	return 1
}

# vn_mount [daemon args...]: mount $SRC on $MNT in the foreground as a
# background job of the test, so that its exit status can be checked.
vn_mount() {
	"$VENEERFS" -f "$@" "$SRC" "$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT" || { cat "$WORK/daemon.log" >&2; return 1; }
}

# vn_daemons PATH: pids of veneerfs daemons (started by path or through
# mount.fuse3) whose command line mentions PATH.
vn_daemons() {
	pgrep -f "^(\S*/)?veneerfs .*$1" || true
}

# vn_wait_no_daemon PATH: wait until no daemon serving a mount under PATH
# is left; one exits once its filesystem is unmounted. Fails after about
# 10 seconds.
vn_wait_no_daemon() {
	local i
	for i in $(seq 1 200); do
		[ -z "$(vn_daemons "$1")" ] && return 0
		sleep 0.05
	done
	echo "veneerfs still running for $1: $(vn_daemons "$1")" >&2
	return 1
}

# Unmount and check that the daemon exited cleanly (status 0).
vn_unmount() {
	local status=0
	[ -n "$VN_PID" ] || return 0
	fusermount3 -u "$MNT" || return 1
	wait "$VN_PID" || status=$?
	VN_PID=
	if [ $status -ne 0 ]; then
		echo "daemon exited with $status" >&2
		cat "$WORK/daemon.log" >&2
		return 1
	fi
	vn_no_leaks "$WORK/daemon.log"
}

# vn_no_leaks LOG: the daemon that wrote LOG released every node at
# unmount: no request or open handle still held one.
vn_no_leaks() {
	if grep 'still held by requests' "$1" >&2; then
		echo "the daemon leaked nodes (log $1)" >&2
		return 1
	fi
}

vn_teardown() {
	cd / || true # a cwd inside the mount would keep it busy
	if [ -n "${VN_PID:-}" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
		wait "$VN_PID" 2>/dev/null || true
	fi
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	return 0
}

# Run as an unprivileged user (nobody) with no supplementary groups.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# The stat fields that must agree between the mount and the source
# (or a reference tree): type, mode, links, owner, size, mtime.
vn_stat() {
	stat -c '%F %a %h %u %g %s %Y' -- "$@"
}

# The stat fields that must agree for objects made by the same steps at
# slightly different times: vn_stat without the mtime.
vn_attrs() {
	stat -c '%F %a %h %u %g %s' -- "$@"
}

# vn_expect EXPECTED SYSCALL ARGS...: run vnop in the current directory and
# fail unless it prints EXPECTED (pjdfstest's `expect`).
vn_expect() {
	local want=$1 got
	shift
	got=$("$VNOP" "$@") || { echo "vnop $* failed to run" >&2; return 1; }
	if [ "$got" != "$want" ]; then
		echo "vnop $*: expected '$want', got '$got'" >&2
		return 1
	fi
}

# vn_diff CMD [ARGS...]: run CMD with $MNT as the working directory, then
# with $REF, and fail unless both print the same (stdout and stderr) and
# exit alike. Paths in CMD must be relative. The common output is left in
# $vn_out for further checks.
vn_diff() {
	local m r ms=0 rs=0
	m=$(cd "$MNT" && "$@" 2>&1) || ms=$?
	r=$(cd "$REF" && "$@" 2>&1) || rs=$?
	if [ "$m" != "$r" ] || [ "$ms" != "$rs" ]; then
		printf '%s\n--- mount (exit %s):\n%s\n--- ext4 (exit %s):\n%s\n' \
			"differs: $*" "$ms" "$m" "$rs" "$r" >&2
		return 1
	fi
	vn_out=$m
}

# vn_expect_both EXPECTED SYSCALL ARGS...: vnop in $MNT and in $REF must
# both print EXPECTED.
vn_expect_both() {
	local want=$1
	shift
	vn_diff "$VNOP" "$@" || return 1
	if [ "$vn_out" != "$want" ]; then
		echo "vnop $*: expected '$want' on both, got '$vn_out'" >&2
		return 1
	fi
}

# vn_mount_nofile N [daemon args...]: vn_mount with the daemon's
# RLIMIT_NOFILE (soft and hard) lowered to N, set by prlimit, which then
# execs the daemon so that VN_PID is still the daemon's pid.
vn_mount_nofile() {
	local n=$1 wrapper=$WORK/veneerfs-nofile
	shift
	command -v prlimit >/dev/null || vn_skip "needs prlimit"
	printf '#!/bin/sh\nexec prlimit --nofile=%s:%s -- "%s" "$@"\n' \
		"$n" "$n" "$VENEERFS" >"$wrapper"
	chmod 755 "$wrapper"
	VENEERFS=$wrapper vn_mount "$@"
}

# vn_stats [PID LOG]: ask the daemon (default $VN_PID, logging to
# $WORK/daemon.log) for its counts (SIGUSR1) and wait for the line in its
# log; sets vn_nodes, vn_fds, vn_rss and vn_hwm (KiB), vn_pt (on or off:
# kernel passthrough), vn_open (regular files open now), vn_pt_opens and
# vn_daemon_opens (opens of files served by the kernel from the real file,
# and by the daemon), vn_reads and vn_writes (READ and WRITE requests).
vn_stats() {
	local pid=${1:-$VN_PID} log=${2:-$WORK/daemon.log} before i line re
	before=$(grep -c 'stats:' "$log" || true)
	kill -USR1 "$pid"
	for i in $(seq 200); do
		[ "$(grep -c 'stats:' "$log")" -gt "$before" ] && break
		sleep 0.05
	done
	if [ "$(grep -c 'stats:' "$log")" -le "$before" ]; then
		echo "no new stats line from the daemon" >&2
		return 1
	fi
	line=$(grep 'stats:' "$log" | tail -1)
	re='stats: ([0-9]+) nodes, ([0-9]+) fds.* rss ([0-9]+) KiB, peak rss ([0-9]+) KiB; passthrough (on|off)[^;]*; files ([0-9]+) open, opened ([0-9]+) passthrough ([0-9]+) daemon; requests ([0-9]+) read ([0-9]+) write$'
	if ! [[ $line =~ $re ]]; then
		echo "cannot parse the stats line: $line" >&2
		return 1
	fi
	vn_nodes=${BASH_REMATCH[1]} vn_fds=${BASH_REMATCH[2]}
	vn_rss=${BASH_REMATCH[3]} vn_hwm=${BASH_REMATCH[4]}
	vn_pt=${BASH_REMATCH[5]} vn_open=${BASH_REMATCH[6]}
	vn_pt_opens=${BASH_REMATCH[7]} vn_daemon_opens=${BASH_REMATCH[8]}
	vn_reads=${BASH_REMATCH[9]} vn_writes=${BASH_REMATCH[10]}
}

# vn_wait_closed [PID LOG]: wait until the daemon holds no regular file
# open: the kernel sends RELEASE after close(2) has returned, and a new
# open is served as the ones still open are (passthrough or not).
vn_wait_closed() {
	local i
	for i in $(seq 200); do
		vn_stats "$@" || return 1
		[ "$vn_open" = 0 ] && return 0
		sleep 0.05
	done
	echo "the daemon still holds $vn_open files open" >&2
	return 1
}
