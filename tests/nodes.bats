#!/usr/bin/env bats
# Node identity and fd exhaustion: what the daemon must get right about
# which object a nodeid stands for, and how it behaves with few fds.

load helpers

setup() {
	vn_setup
}

teardown() {
	if mountpoint -q "$SRC"; then
		fusermount3 -u "$MNT" 2>/dev/null || true
		[ -n "${VN_PID:-}" ] && wait "$VN_PID" 2>/dev/null
		VN_PID=
		umount "$SRC"
	fi
	vn_teardown
}

# SOURCE on its own small ext4 with a journal, which gives a freed inode
# number to the next file at once (an ext4 without a journal, such as a
# host's root may be, avoids numbers freed in the last 30 seconds).
src_on_fresh_ext4() {
	truncate -s 64M "$WORK/src.img"
	mkfs.ext4 -q -F "$WORK/src.img" ||
		vn_skip "cannot make an ext4 image"
	mount -o loop "$WORK/src.img" "$SRC" ||
		vn_skip "cannot mount a loop device"
	rmdir "$SRC/lost+found"
	chmod 755 "$SRC"
}

# Mount with the daemon unable to use file handles (no CAP_DAC_READ_SEARCH)
# and few fds, so nodes are reopened by parent and name.
mount_without_handles() {
	prlimit --nofile=64:64 setpriv --bounding-set=-dac_read_search -- \
		"$VENEERFS" -f "$@" "$SRC" "$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
}

@test "without handles: a deleted file's inode number reused by a new file is not taken for it" {
	src_on_fresh_ext4
	mkdir "$SRC/a" "$SRC/b" "$SRC/junk"
	for i in $(seq 100); do : >"$SRC/junk/f$i"; done
	mount_without_handles
	echo old-data >"$MNT/a/old"
	run python3 - "$MNT" "$SRC" <<'PY'
import os, sys, glob
M, S = sys.argv[1:]
h = os.open(M + "/a/old", os.O_PATH)     # holds the kernel's inode, no OPEN
ino = os.stat(S + "/a/old").st_ino
os.unlink(M + "/a/old")
for f in glob.glob(M + "/junk/*"):
    os.stat(f)                            # evict the daemon's cached fd
for i in range(200):
    p = "%s/b/new%d" % (M, i)
    with open(p, "w") as f:
        f.write("new file %d, longer than the old one\n" % i)
    if os.stat(S + "/b/new%d" % i).st_ino == ino:
        break
else:
    print("inode number never reused"); sys.exit(2)
try:
    st = os.fstat(h)
except OSError as e:
    # ESTALE: the old object is gone, and the daemon says so.
    print("fstat: errno", e.errno); sys.exit(0 if e.errno == 116 else 1)
# If it answers, it must describe the deleted file, not the new one.
print("nlink", st.st_nlink, "size", st.st_size)
sys.exit(0 if st.st_nlink == 0 and st.st_size == 9 else 1)
PY
	echo "$output"
	[ "$status" -eq 0 ]
	vn_unmount
}

@test "with few fds, close(2) never fails because the daemon has none to spare" {
	for i in $(seq 100); do echo x >"$SRC/f$i"; done
	prlimit --nofile=64:64 "$VENEERFS" -f "$SRC" "$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	run python3 - "$MNT" <<'PY'
import os, sys
m = sys.argv[1]; fds = []
try:
    for i in range(1, 101):
        fds.append(os.open("%s/f%d" % (m, i), os.O_RDONLY))
except OSError as e:
    if e.errno != 24:
        raise                               # only EMFILE is expected here
bad = 0
for fd in fds:
    try:
        os.close(fd)
    except OSError:
        bad += 1
print("held", len(fds), "close failures", bad)
sys.exit(1 if bad or len(fds) < 10 else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
	# The mount still works once the files are closed.
	[ "$(cat "$MNT/f100")" = x ]
	vn_unmount
}
