#!/usr/bin/env bats
# Faults: a backing filesystem that fills up (blocks, then inodes), and a
# daemon killed with SIGKILL during heavy writes. The writer must get
# ENOSPC, the daemon must stay up and serve again once space is freed,
# and no acknowledged (fsync'ed) data may be lost across a kill and a
# remount. (A kill during a copy-up is in overlay_copyup.bats.)

load helpers

setup() {
	vn_setup
	SMALL=$WORK/small
	mkdir -p "$SMALL"
}

teardown() {
	[ -n "${WRITER:-}" ] && kill "$WRITER" 2>/dev/null
	if [ -n "${VN_PID:-}" ]; then
		umount -l "$MNT" 2>/dev/null
		kill -9 "$VN_PID" 2>/dev/null
		wait "$VN_PID" 2>/dev/null
		VN_PID=
	fi
	umount "$MNT" 2>/dev/null
	umount "$SMALL" 2>/dev/null
	vn_teardown
}

# A small ext4 (loop device) at $SMALL: $1 MiB, $2 inodes. Falls back to a
# size-limited tmpfs where loop devices are missing.
small_fs() {
	local img=$WORK/small.img
	truncate -s "${1}M" "$img"
	if mkfs.ext4 -q -F -N "$2" "$img" 2>/dev/null &&
	   mount -o loop "$img" "$SMALL" 2>/dev/null; then
		SMALL_TYPE=ext4
	else
		mount -t tmpfs -o "size=${1}m,nr_inodes=$2" tmpfs "$SMALL"
		SMALL_TYPE=tmpfs
	fi
	chmod 755 "$SMALL"
	echo "backing filesystem: $SMALL_TYPE, ${1} MiB, $2 inodes"
	rmdir "$SMALL/lost+found" 2>/dev/null || true
}

# The daemon is alive and the mount answers.
still_serving() {
	kill -0 "$VN_PID"
	stat "$MNT" >/dev/null
	ls "$MNT" >/dev/null
}

@test "ENOSPC: a full backing filesystem fails the write, and the mount recovers" {
	small_fs 16 256
	SRC=$SMALL
	vn_mount
	echo keep >"$MNT/keep"
	run dd if=/dev/zero of="$MNT/big" bs=1M count=64 conv=fsync
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	still_serving
	# What was written is what SOURCE holds, and the rest is untouched.
	[ "$(stat -c %s "$MNT/big")" = "$(stat -c %s "$SMALL/big")" ]
	[ "$(cat "$MNT/keep")" = keep ]
	cmp -n "$(stat -c %s "$MNT/big")" "$MNT/big" /dev/zero
	# Free the space: writing works again, and reads back whole.
	rm "$MNT/big"
	head -c 4M /dev/urandom >"$WORK/data"
	cp "$WORK/data" "$MNT/again"
	sync "$MNT/again"
	cmp "$WORK/data" "$MNT/again"
	cmp "$WORK/data" "$SMALL/again"
	vn_unmount
}

@test "ENOSPC: running out of inodes fails creation, and the mount recovers" {
	small_fs 16 64
	SRC=$SMALL
	vn_mount
	run python3 - "$MNT" <<-'EOF'
	import errno, os, sys
	n = 0
	try:
	    while True:
	        os.close(os.open("%s/f%d" % (sys.argv[1], n), os.O_CREAT | os.O_WRONLY, 0o644))
	        n += 1
	except OSError as e:
	    print("created", n, "then", errno.errorcode[e.errno])
	    sys.exit(0 if e.errno == errno.ENOSPC and n > 0 else 1)
	EOF
	echo "$output"
	[ "$status" -eq 0 ]
	still_serving
	run mkdir "$MNT/dir"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	rm "$MNT"/f1*
	mkdir "$MNT/dir"
	echo fine >"$MNT/dir/file"
	[ "$(cat "$MNT/dir/file")" = fine ]
	[ "$(ls "$MNT" | sort)" = "$(ls "$SMALL" | sort)" ]
	vn_unmount
}

@test "ENOSPC in an overlay: a copy-up that does not fit leaves nothing behind" {
	local lower=$WORK/lower
	mkdir -p "$lower"
	head -c 24M /dev/urandom >"$lower/big"
	echo small >"$lower/small"
	small_fs 16 256
	mkdir "$SMALL/upper" "$SMALL/work"
	"$VENEERFS" -f -o "lowerdir=$lower,upperdir=$SMALL/upper,workdir=$SMALL/work" \
		"$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	# Appending needs a copy-up of 24 MiB into 16.
	run sh -c "echo more >>'$MNT/big'"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	still_serving
	# No partial file in the upper layer or the work dir; the lower file
	# still shows whole through the mount.
	[ -z "$(ls -A "$SMALL/upper")" ]
	[ -z "$(ls -A "$SMALL/work/work")" ]
	cmp "$lower/big" "$MNT/big"
	# A copy-up that fits works.
	echo more >>"$MNT/small"
	[ "$(cat "$SMALL/upper/small")" = "$(printf 'small\nmore')" ]
	vn_unmount
}

# Write files one after another, each fsync'ed, and record each in a
# journal outside the mount once fsync has returned; the daemon is killed
# meanwhile. $1: a directory in the mount.
start_writer() {
	python3 - "$1" "$WORK/journal" <<-'EOF' &
	import hashlib, os, sys
	top, journal = sys.argv[1], sys.argv[2]
	j = open(journal, "a", buffering=1)
	i = 0
	while True:
	    data = hashlib.sha256(b"%d" % i).digest() * (2048 + i % 4096)
	    try:
	        fd = os.open("%s/f%05d" % (top, i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	        for off in range(0, len(data), 65536):
	            os.write(fd, data[off:off + 65536])
	        os.fsync(fd)
	        os.close(fd)
	    except OSError:
	        break
	    j.write("%d\n" % i)
	    i += 1
	EOF
	WRITER=$!
}

# Every file the journal acknowledges must be whole in $1.
check_journal() {
	python3 - "$1" "$WORK/journal" <<-'EOF'
	import hashlib, sys
	top, journal = sys.argv[1], sys.argv[2]
	done = [int(l) for l in open(journal) if l.strip()]
	assert len(done) > 20, "the writer acknowledged only %d files" % len(done)
	for i in done:
	    data = hashlib.sha256(b"%d" % i).digest() * (2048 + i % 4096)
	    got = open("%s/f%05d" % (top, i), "rb").read()
	    if got != data:
	        sys.exit("f%05d: %d bytes, %d acknowledged" % (i, len(got), len(data)))
	print(len(done), "acknowledged files intact")
	EOF
}

# Kill the daemon once the writer has acknowledged $1 files.
kill_during_writes() {
	local i
	for i in $(seq 600); do
		[ "$(wc -l <"$WORK/journal" 2>/dev/null || echo 0)" -ge "$1" ] && break
		sleep 0.05
	done
	kill -9 "$VN_PID"
	wait "$VN_PID" || true
	VN_PID=
	wait "$WRITER" || true
	WRITER=
	umount -l "$MNT"
}

kill_and_remount() {
	mkdir "$SRC/w"
	vn_mount "$@"
	start_writer "$MNT/w"
	kill_during_writes 40
	vn_mount "$@"
	run check_journal "$MNT/w"
	echo "$output"
	[ "$status" -eq 0 ]
	vn_unmount
}

@test "kill -9 during heavy writes: fsync'ed data is intact after remount" {
	kill_and_remount
}

@test "kill -9 during heavy writes with the writeback cache: fsync'ed data is intact" {
	kill_and_remount -o writeback,nopassthrough
}

@test "kill -9 during heavy writes to an overlay: fsync'ed data is intact" {
	local lower=$WORK/lower up=$WORK/upper work=$WORK/work
	mkdir -p "$lower/w" "$up" "$work"
	# Half of the names exist below: those writes are copy-ups (O_TRUNC).
	for i in $(seq 0 2 60); do printf 'old %d\n' "$i" >"$lower/w/$(printf f%05d "$i")"; done
	ov_args=(-o "lowerdir=$lower,upperdir=$up,workdir=$work" "$MNT")
	"$VENEERFS" -f "${ov_args[@]}" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	start_writer "$MNT/w"
	kill_during_writes 40
	"$VENEERFS" -f "${ov_args[@]}" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	run check_journal "$MNT/w"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$work/work")" ]
	vn_unmount
}
