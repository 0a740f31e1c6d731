# Shared setup for the bats suites. Load with `load helpers`.
#
# Variables read:
#   VENEERFS   the daemon binary (set by `make check`; default: ../src/veneerfs
#              next to this file, for running bats by hand)
#   VN_TESTS   this directory (set by `make check`)
#   CI         when "true", a test that would skip fails instead
# Variables set by vn_setup:
#   SRC        the source directory, on the same ext4 as the reference
#   MNT        the mountpoint
#   REF        a plain ext4 directory for differential checks
#   VN_PID     the daemon's pid while mounted (foreground child of the test)

: "${VN_TESTS:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${VENEERFS:=$VN_TESTS/../src/veneerfs}"

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
}

vn_teardown() {
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
