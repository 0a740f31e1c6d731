#!/usr/bin/env bats
# Round trips the kernel can skip. Closing a handle sends no FLUSH where
# close(2) could report nothing: read-only handles, and any handle on a
# filesystem known to report no error at close.
#
# The kernel's caches with the default cache=auto: file pages and directory
# listings are kept from one open to the next while the object is
# unchanged (no READ or READDIR reaches the daemon), and dropped at the next
# open once it has changed, even when the change was made in SOURCE behind
# the mount's back and the attribute timeout has not run out. File pages
# are the daemon's only without kernel passthrough (which reads the real
# file itself): the tests that count READs mount with nopassthrough.

load helpers

setup() {
	export LC_ALL=C
	vn_setup
}

teardown() {
	if mountpoint -q "$SRC"; then
		fusermount3 -u "$MNT" 2>/dev/null || true
		umount "$SRC"
	fi
	vn_teardown
}

# requests OPCODE: how many requests of that kind the daemon has traced.
requests() {
	grep -c "opcode: $1 (" "$WORK/daemon.log" || true
}

# rawcat FILE: open and read, with no fstat (cat's fstat would refresh the
# attributes, and the kernel would notice the change by itself).
rawcat() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
sys.stdout.write(os.read(fd, 1 << 16).decode())' "$1"
}

listing_requests() {
	echo $(($(requests READDIR) + $(requests READDIRPLUS)))
}

@test "cache=auto: an unchanged file is read once, then from the kernel's cache" {
	head -c 300000 /dev/urandom >"$SRC/f"
	vn_mount -d -o nopassthrough
	cmp "$SRC/f" "$MNT/f"
	before=$(requests READ)
	[ "$before" -gt 0 ]
	cmp "$SRC/f" "$MNT/f"
	cmp "$SRC/f" "$MNT/f"
	[ "$(requests READ)" = "$before" ]
}

@test "cache=auto: a file rewritten in SOURCE reads new at the next open" {
	printf 'old data\n' >"$SRC/f"
	vn_mount -d -o attr_timeout=600,entry_timeout=600
	[ "$(rawcat "$MNT/f")" = "old data" ]
	# Same size, and written within the same second: only the version
	# seen at open tells the kernel its pages are stale.
	printf 'new data\n' | dd of="$SRC/f" conv=notrunc status=none
	[ "$(rawcat "$MNT/f")" = "new data" ]
	printf 'more\n' >>"$SRC/f"
	[ "$(rawcat "$MNT/f")" = "$(printf 'new data\nmore')" ]
}

@test "cache=auto: data written through the mount reads back at once" {
	vn_mount -o attr_timeout=600,entry_timeout=600
	printf 'one\n' >"$MNT/f"
	[ "$(cat "$MNT/f")" = one ]
	printf 'two\n' >"$MNT/f"
	[ "$(cat "$MNT/f")" = two ]
	[ "$(cat "$SRC/f")" = two ]
}

@test "cache=auto: an unchanged directory is listed once, then from the kernel's cache" {
	mkdir "$SRC/d"
	touch "$SRC/d/a" "$SRC/d/b"
	vn_mount -d
	[ "$(ls -f "$MNT/d" | sort | tr '\n' ' ')" = ". .. a b " ]
	before=$(listing_requests)
	[ "$before" -gt 0 ]
	[ "$(ls -f "$MNT/d" | sort | tr '\n' ' ')" = ". .. a b " ]
	[ "$(ls -f "$MNT/d" | sort | tr '\n' ' ')" = ". .. a b " ]
	[ "$(listing_requests)" = "$before" ]
}

@test "cache=auto: a directory changed in SOURCE lists new at the next open" {
	mkdir "$SRC/d"
	touch "$SRC/d/a"
	vn_mount -o attr_timeout=600,entry_timeout=600
	[ "$(ls "$MNT/d" | tr '\n' ' ')" = "a " ]
	touch "$SRC/d/b"
	[ "$(ls "$MNT/d" | tr '\n' ' ')" = "a b " ]
	rm "$SRC/d/a"
	[ "$(ls "$MNT/d" | tr '\n' ' ')" = "b " ]
}

@test "cache=auto: a directory changed through the mount lists new at once" {
	mkdir "$SRC/d"
	vn_mount -o attr_timeout=600,entry_timeout=600
	[ -z "$(ls "$MNT/d")" ]
	touch "$MNT/d/a"
	[ "$(ls "$MNT/d")" = a ]
	mv "$MNT/d/a" "$MNT/d/b"
	[ "$(ls "$MNT/d")" = b ]
	rm "$MNT/d/b"
	[ -z "$(ls "$MNT/d")" ]
}

@test "cache=never: every read and listing reaches the daemon" {
	printf 'data\n' >"$SRC/f"
	mkdir "$SRC/d"
	vn_mount -d -o cache=never,nopassthrough
	cat "$MNT/f" >/dev/null
	ls "$MNT/d" >/dev/null
	reads=$(requests READ) lists=$(listing_requests)
	cat "$MNT/f" >/dev/null
	ls "$MNT/d" >/dev/null
	[ "$(requests READ)" -gt "$reads" ]
	[ "$(listing_requests)" -gt "$lists" ]
}

@test "close: no FLUSH for read-only handles, nor for writable ones on ext4" {
	printf 'data\n' >"$SRC/f"
	vn_mount -d
	cat "$MNT/f" >/dev/null
	printf 'more\n' >>"$MNT/f"
	printf 'new\n' >"$MNT/g"
	[ "$(cat "$SRC/f" "$SRC/g")" = "$(printf 'data\nmore\nnew')" ]
	[ "$(requests RELEASE)" -ge 3 ]
	[ "$(requests FLUSH)" = 0 ]
}

@test "close: a writable handle on another filesystem (ramfs) still gets its FLUSH" {
	mount -t ramfs ramfs "$SRC"
	printf 'data\n' >"$SRC/f"
	vn_mount -d
	cat "$MNT/f" >/dev/null
	[ "$(requests FLUSH)" = 0 ]
	printf 'more\n' >>"$MNT/f"
	[ "$(requests FLUSH)" -ge 1 ]
	[ "$(cat "$SRC/f")" = "$(printf 'data\nmore')" ]
}

# dwrite FILE: overwrite the first 64 KiB of FILE with O_DIRECT, with
# data of its own (not the file's old bytes).
dwrite() {
	python3 - "$1" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 65536)          # page-aligned, as O_DIRECT wants
buf.write(b"D" * 65536)
os.write(fd, buf)
os.close(fd)
PY
}

@test "a file that has seen a direct write keeps no pages from one open to the next" {
	head -c 262144 /dev/urandom >"$SRC/f"
	head -c 262144 /dev/urandom >"$SRC/g"
	vn_mount -d -o nopassthrough
	dwrite "$MNT/f"
	cmp "$SRC/f" "$MNT/f"
	before=$(requests READ)
	cmp "$SRC/f" "$MNT/f"
	# Read again from the daemon, although nothing changed since.
	[ "$(requests READ)" -gt "$before" ]
	before=$(requests READ)
	cmp "$SRC/f" "$MNT/f"
	[ "$(requests READ)" -gt "$before" ]
	# The control: a file written through the page cache is kept.
	cat "$SRC/g" >"$MNT/g"
	cmp "$SRC/g" "$MNT/g"
	before=$(requests READ)
	cmp "$SRC/g" "$MNT/g"
	[ "$(requests READ)" = "$before" ]
}

@test "cache=always: a file that has seen a direct write is read anew at the next open" {
	head -c 262144 /dev/urandom >"$SRC/f"
	vn_mount -d -o cache=always,nopassthrough
	cmp "$SRC/f" "$MNT/f"
	before=$(requests READ)
	cmp "$SRC/f" "$MNT/f"
	[ "$(requests READ)" = "$before" ]
	dwrite "$MNT/f"
	cmp "$SRC/f" "$MNT/f"
	before=$(requests READ)
	cmp "$SRC/f" "$MNT/f"
	[ "$(requests READ)" -gt "$before" ]
}

@test "direct writes while another handle reads buffered: reopened, the file is what SOURCE holds" {
	command -v fio >/dev/null || vn_skip "needs fio"
	head -c $((4 << 20)) /dev/zero >"$SRC/f"
	vn_mount
	cat >"$WORK/job.fio" <<JOB
[global]
filename=$MNT/f
size=4m
bs=4k
runtime=2
time_based
[writer]
rw=randwrite
ioengine=libaio
direct=1
iodepth=16
buffer_pattern=0xabcdabcd
[reader]
rw=randread
ioengine=psync
JOB
	fio --output="$WORK/fio.out" "$WORK/job.fio"
	cmp "$MNT/f" "$SRC/f"
	cmp <(cat "$MNT/f") "$SRC/f"
}

@test "-o writeback: touch by a non-owner who may write sets the times, as on ext4" {
	echo x >"$SRC/f"
	echo x >"$REF/f"
	chmod 666 "$SRC/f" "$REF/f"
	touch -d @1000000000 "$SRC/f" "$REF/f"
	vn_mount -o writeback,nopassthrough,allow_other
	as_nobody touch "$MNT/f"
	as_nobody touch "$REF/f"
	[ "$(stat -c %Y "$MNT/f")" -gt 1000000000 ]
	[ "$(stat -c %Y "$SRC/f")" -gt 1000000000 ]
	# Explicit times stay the owner's, on both.
	run as_nobody touch -d @2000000000 "$MNT/f"
	[ "$status" -ne 0 ]
	run as_nobody touch -d @2000000000 "$REF/f"
	[ "$status" -ne 0 ]
	[ "$(stat -c %Y "$SRC/f")" -lt 2000000000 ]
}

@test "-o writeback: SEEK_DATA and SEEK_HOLE see data not yet written back" {
	vn_mount -o writeback,nopassthrough
	run python3 - "$MNT/f" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.truncate(fd, 1 << 20)            # one big hole
os.pwrite(fd, b"x" * 4096, 512 << 10)  # data in the middle, cached only
d = os.lseek(fd, 0, os.SEEK_DATA)
h = os.lseek(fd, d, os.SEEK_HOLE)
print("data", d, "hole", h)
# Whatever it reports, the data must be inside what it calls data.
sys.exit(0 if d <= 512 << 10 and h >= (512 << 10) + 4096 else 1)
PY
	echo "$output"
	[ "$status" -eq 0 ]
}
