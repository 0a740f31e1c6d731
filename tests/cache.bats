#!/usr/bin/env bats
# Round trips the kernel can skip. Closing a handle sends no FLUSH where
# close(2) could report nothing: read-only handles, and any handle on a
# filesystem known to report no error at close.
#
# The kernel's caches with the default cache=auto: file pages and directory
# listings are kept from one open to the next while the object is
# unchanged (no READ or READDIR reaches the daemon), and dropped at the next
# open once it has changed, even when the change was made in SOURCE behind
# the mount's back and the attribute timeout has not run out.

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
	vn_mount -d
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
	vn_mount -d -o cache=never
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
