# Where the daemon's messages go: syslog once daemonized, each line naming
# the mountpoint; stderr with -f. Each test runs in a namespace of its own
# with a private /dev (a tmpfs with the few devices needed), where a small
# listener owns /dev/log, so nothing reaches the host's syslog.
load helpers

setup() {
	vn_setup
	command -v python3 >/dev/null || vn_skip "needs python3"
	command -v logger >/dev/null || vn_skip "needs logger"
	LOG=$WORK/syslog
}

teardown() {
	vn_teardown
}

# in_private_dev SCRIPT: run SCRIPT with bash in a new mount namespace whose
# /dev has null, zero, urandom, fuse and a syslog listener on /dev/log that
# appends each message to $LOG. Before SCRIPT returns, it must call
# log_flush, which waits until the listener has written every message sent
# so far.
in_private_dev() {
	VENEERFS=$VENEERFS SRC=$SRC MNT=$MNT LOG=$LOG WORK=$WORK \
		unshare -m --propagation private bash -c '
	set -e
	mount -t tmpfs -o mode=755 vn-dev /dev
	mknod -m 666 /dev/null c 1 3
	mknod -m 666 /dev/zero c 1 5
	mknod -m 666 /dev/urandom c 1 9
	mknod -m 666 /dev/fuse c 10 229
	ln -s /proc/self/fd /dev/fd
	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
with open(sys.argv[1], \"ab\", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b\"\\n\")
" "$LOG" &
	listener=$!
	trap "kill $listener 2>/dev/null" EXIT
	for i in $(seq 200); do [ -S /dev/log ] && break; sleep 0.05; done
	[ -S /dev/log ]
	# Datagrams on one socket arrive in order: once the marker is
	# written, so is everything sent before it.
	log_flush() {
		logger -u /dev/log -t vn-test "flush-$1"
		for i in $(seq 200); do
			grep -q "flush-$1" "$LOG" 2>/dev/null && return 0
			sleep 0.05
		done
		echo "the listener wrote no flush-$1" >&2
		return 1
	}
	wait_gone() {
		for i in $(seq 200); do
			kill -0 "$1" 2>/dev/null || return 0
			sleep 0.05
		done
		echo "process $1 did not exit" >&2
		return 1
	}
	'"$1"
}

@test "logging: daemonized, to syslog with the mountpoint in each line" {
	in_private_dev '
	"$VENEERFS" "$SRC" "$MNT" 2>"$WORK/stderr"
	pid=$(pgrep -xf "$VENEERFS $SRC $MNT")
	echo "$pid" >"$WORK/pid"
	echo hi >"$MNT/f"
	kill -USR1 "$pid"
	# the stats thread answers the signal on its own time
	for i in $(seq 200); do
		log_flush "s$i"
		grep -q "stats:" "$LOG" && break
	done
	umount "$MNT"
	wait_gone "$pid"
	log_flush 2'
	pid=$(cat "$WORK/pid")
	[ ! -s "$WORK/stderr" ]
	grep -v 'vn-test' "$LOG" >"$WORK/daemon-lines"
	cat "$WORK/daemon-lines" >&2
	# every line is the daemon's, from the daemon facility, and names
	# the mountpoint
	[ "$(wc -l <"$WORK/daemon-lines")" -ge 3 ]
	[ -z "$(grep -v "^<[0-9]*>.* veneerfs\[$pid\]: $MNT: " \
		"$WORK/daemon-lines")" ]
	[ -z "$(grep -v '^<\(2[4-9]\|3[01]\)>' "$WORK/daemon-lines")" ]
	grep -q "veneerfs\[$pid\]: $MNT: mounted: passthrough of $SRC\$" \
		"$WORK/daemon-lines"
	grep -q "veneerfs\[$pid\]: $MNT: stats: [0-9]* nodes" \
		"$WORK/daemon-lines"
	grep -q "veneerfs\[$pid\]: $MNT: unmounted\$" "$WORK/daemon-lines"
	[ "$(tail -1 "$WORK/daemon-lines" | sed 's/.*: //')" = unmounted ]
}

@test "logging: an overlay's lines name its mountpoint and layers" {
	mkdir "$WORK/l" "$WORK/u" "$WORK/w"
	in_private_dev '
	"$VENEERFS" -o lowerdir=$WORK/l,upperdir=$WORK/u,workdir=$WORK/w \
		"$MNT" 2>"$WORK/stderr"
	pid=$(pgrep -f "^$VENEERFS -o lowerdir=")
	umount "$MNT"
	wait_gone "$pid"
	log_flush 1'
	[ ! -s "$WORK/stderr" ]
	grep -q "veneerfs\[[0-9]*\]: $MNT: mounted: overlay of 1 lower layer(s), upper $WORK/u\$" "$LOG"
	grep -q "veneerfs\[[0-9]*\]: $MNT: unmounted\$" "$LOG"
}

@test "logging: in the foreground, to stderr and not to syslog" {
	in_private_dev '
	"$VENEERFS" -f "$SRC" "$MNT" 2>"$WORK/stderr" &
	pid=$!
	for i in $(seq 200); do mountpoint -q "$MNT" && break; sleep 0.05; done
	kill -USR1 "$pid"
	for i in $(seq 200); do
		grep -q stats: "$WORK/stderr" && break
		sleep 0.05
	done
	umount "$MNT"
	wait "$pid"
	log_flush 1'
	grep -q '^veneerfs: stats: [0-9]* nodes' "$WORK/stderr"
	[ -z "$(grep -v vn-test "$LOG")" ]
}

@test "logging: errors before the mount go to stderr, one line" {
	in_private_dev '
	status=0
	"$VENEERFS" "$SRC/missing" "$MNT" 2>"$WORK/stderr" || status=$?
	echo "$status" >"$WORK/status"
	log_flush 1'
	[ "$(cat "$WORK/status")" -eq 1 ]
	[ "$(wc -l <"$WORK/stderr")" -eq 1 ]
	grep -q "^veneerfs: source '$SRC/missing': No such file or directory\$" \
		"$WORK/stderr"
	[ -z "$(grep -v vn-test "$LOG")" ]
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
}
