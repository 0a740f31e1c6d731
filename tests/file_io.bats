#!/usr/bin/env bats
# Open files: open flags, data paths (page cache, O_DIRECT, mmap), space
# management (fallocate, holes), copy_file_range, fsync, locks. Results are
# compared with the same steps on $REF, a plain ext4 directory, and data
# written through the mount is read back from SOURCE and the other way.

load helpers

# at DIR CMD [ARGS...]: run CMD in DIR, leaving this shell where it is.
at() {
	(cd "$1" && shift && "$@")
}

setup() {
	export LC_ALL=C
	vn_setup
	HOLDER=
	vn_mount -o allow_other
}

teardown() {
	cd / # a shell inside the mount would keep it busy
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	vn_teardown
}

append_steps() {
	printf abc >f
	"$VNOP" open f O_WRONLY,O_APPEND : write %0 0 de : lseek %0 0 SEEK_END
	# pwrite's offset is ignored on an O_APPEND descriptor
	"$VNOP" open f O_RDWR,O_APPEND : write %0 1 XY : read %0 0 100
	cat f; echo
	"$VNOP" open new O_WRONLY,O_APPEND,O_CREAT 0600 : write %0 5 z
	cat new; echo
}

@test "O_APPEND: writes land at the end, whatever the offset" {
	vn_diff append_steps
	[ "$vn_out" = "$(printf '0\n2\n5\n0\n2\n7\nabcdeXY\n0\n1\nz')" ]
	[ "$(cat "$SRC/f")" = abcdeXY ]
}

@test "O_APPEND: two processes appending through the mount lose no record" {
	local py='
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(2000):
    os.write(fd, ("%s %06d\n" % (sys.argv[2], i)).encode())
os.close(fd)'
	python3 -c "$py" "$MNT/log" A &
	local a=$!
	python3 -c "$py" "$MNT/log" B
	wait $a
	[ "$(wc -l <"$SRC/log")" = 4000 ]
	[ "$(stat -c %s "$MNT/log")" = $((4000 * 9)) ]
	[ "$(grep -c '^A [0-9]\{6\}$' "$SRC/log")" = 2000 ]
	[ "$(grep -c '^B [0-9]\{6\}$' "$SRC/log")" = 2000 ]
}

trunc_steps() {
	printf hello >f
	"$VNOP" open f O_WRONLY,O_TRUNC : write %0 0 hi
	cat f; echo
	"$VNOP" open f O_RDONLY,O_TRUNC
	vn_attrs f
	printf again >f
	chmod 0444 f
	"$VNOP" open f O_RDWR,O_TRUNC # root may
	vn_attrs f
	printf again >g
	as_nobody "$VNOP" open g O_RDONLY,O_TRUNC
	as_nobody "$VNOP" open g O_WRONLY,O_TRUNC
	vn_attrs g
}

@test "O_TRUNC: empties the file, on read-only opens too, and needs write access" {
	vn_diff trunc_steps
	[ "$vn_out" = "0
2
hi
0
regular empty file 644 1 0 0 0
0
regular empty file 444 1 0 0 0
EACCES
EACCES
regular file 644 1 0 0 5" ]
	[ ! -s "$SRC/f" ]
}

excl_steps() {
	echo old >f
	ln -s target dangling
	"$VNOP" open f O_CREAT,O_EXCL,O_WRONLY 0644
	"$VNOP" open dangling O_CREAT,O_EXCL,O_WRONLY 0644
	"$VNOP" open target O_RDONLY
	"$VNOP" open new O_CREAT,O_EXCL,O_WRONLY 0640
	vn_attrs new
	cat f
	# Without O_EXCL, O_CREAT follows the dangling link and creates its
	# target.
	"$VNOP" open dangling O_CREAT,O_WRONLY 0600
	vn_attrs target
	"$VNOP" open f O_CREAT,O_DIRECTORY 0644
}

@test "O_EXCL: EEXIST on files and dangling symlinks; O_CREAT follows links" {
	vn_diff excl_steps
	[ "$vn_out" = "EEXIST
EEXIST
ENOENT
0
regular empty file 640 1 0 0 0
old
0
regular empty file 600 1 0 0 0
EINVAL" ]
	[ -f "$SRC/target" ]
}

@test "O_DIRECT: aligned writes and reads go to SOURCE and back" {
	head -c 1M /dev/urandom >"$WORK/data"
	dd if="$WORK/data" of="$MNT/d" bs=4096 oflag=direct status=none
	cmp "$WORK/data" "$SRC/d"
	dd if="$MNT/d" bs=4096 iflag=direct status=none | cmp - "$WORK/data"
	# and the same flags on ext4 for the reference
	dd if="$WORK/data" of="$REF/d" bs=4096 oflag=direct status=none
	vn_diff vn_attrs d
	at "$MNT" vn_expect "$(printf '0\n4096')" open d O_RDONLY,O_DIRECT : read %0 8192 4096
	at "$MNT" vn_expect "$(printf '0\n0')" open d O_RDONLY,O_DIRECT : read %0 1048576 4096
}

@test "O_DIRECT: a direct overwrite is seen by a cached reader" {
	printf 'A%.0s' {1..8192} >"$MNT/f"
	[ "$(head -c 8192 "$MNT/f" | tr -d A)" = "" ] # now in the page cache
	head -c 4096 /dev/zero | tr '\0' B >"$WORK/b"
	dd if="$WORK/b" of="$MNT/f" bs=4096 seek=1 oflag=direct conv=notrunc status=none
	[ "$(tail -c 4096 "$MNT/f" | tr -d B)" = "" ]
	[ "$(tail -c 4096 "$SRC/f" | tr -d B)" = "" ]
	[ "$(head -c 4096 "$MNT/f" | tr -d A)" = "" ]
}

# Read f with the given extra open flags and say whether its atime moved.
# $1: the directory where the atime is checked (SOURCE for the mount).
noatime_steps() {
	local where=$1
	for flags in O_RDONLY,O_NOATIME O_RDONLY; do
		echo data >"$where/f"
		touch -a -d @1000000000 "$where/f"
		"$VNOP" open f "$flags" : read %0 0 10
		if [ "$(stat -c %X "$where/f")" = 1000000000 ]; then
			echo "$flags: atime kept"
		else
			echo "$flags: atime updated"
		fi
	done
	as_nobody "$VNOP" open f O_RDONLY,O_NOATIME
}

@test "O_NOATIME: the read leaves atime alone; only the owner may ask" {
	local m r
	m=$(cd "$MNT" && noatime_steps "$SRC")
	r=$(cd "$REF" && noatime_steps "$REF")
	echo "mount:"; echo "$m"; echo "ext4:"; echo "$r"
	[ "$m" = "$r" ]
	[ "$m" = "0
5
O_RDONLY,O_NOATIME: atime kept
0
5
O_RDONLY: atime updated
EPERM" ]
}

MMAP_PY='
import mmap, os, sys
path, what = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
if what == "write":
    m[0:5] = b"HELLO"
    m[8190:8192] = b"ZZ"
    m.flush()
else:
    sys.stdout.write(m[0:5].decode() + m[4096:4101].decode() + m[8190:8192].decode())
m.close()
os.close(fd)'

@test "mmap: shared writable mapping through the mount, and reading SOURCE's changes" {
	head -c 8192 /dev/zero | tr '\0' . >"$MNT/m"
	python3 -c "$MMAP_PY" "$MNT/m" write
	[ "$(head -c 5 "$SRC/m")" = HELLO ]
	[ "$(tail -c 2 "$SRC/m")" = ZZ ]
	[ "$(stat -c %s "$SRC/m")" = 8192 ]
	# the reverse: change SOURCE, then map it afresh through the mount
	printf world | dd of="$SRC/m" bs=1 seek=4096 conv=notrunc status=none
	printf 'hello' | dd of="$SRC/m" bs=1 conv=notrunc status=none
	[ "$(python3 -c "$MMAP_PY" "$MNT/m" read)" = "helloworldZZ" ]
}

@test "mmap: pages written through an O_APPEND handle stay in place" {
	# The kernel writes mapped pages back through any writable handle;
	# on an O_APPEND one they must not be appended (oracle seed 2).
	local py='
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_APPEND)
m = mmap.mmap(fd, 0)
m[0:5] = b"HELLO"
m.flush()
m.close()
os.close(fd)'
	head -c 10000 /dev/zero | tr '\0' . >"$MNT/m"
	cp "$MNT/m" "$REF/m"
	python3 -c "$py" "$MNT/m"
	python3 -c "$py" "$REF/m"
	vn_diff sh -c 'stat -c %s m && head -c 6 m && md5sum <m'
	[ "$(stat -c %s "$SRC/m")" = 10000 ]
}

# Sizes and allocated blocks after each fallocate step; du agrees.
falloc_steps() {
	fallocate -l 1MiB f
	stat -c '%s %b' f
	# Unwritten extents read as holes: write data over them.
	head -c 1M /dev/urandom | dd of=f conv=notrunc status=none
	fallocate -p -o 4096 -l 8192 f
	stat -c '%s %b' f
	"$VNOP" lseek f 0 SEEK_HOLE
	"$VNOP" lseek f 4096 SEEK_DATA
	fallocate -n -o 1MiB -l 1MiB f # past the end, keeping the size
	stat -c '%s %b' f
	"$VNOP" fallocate f 0 2097152 4096
	stat -c '%s %b' f
	"$VNOP" fallocate f PUNCH_HOLE 0 4096 # must come with KEEP_SIZE
	"$VNOP" fallocate f ZERO_RANGE 0 4096
	du -k f
}

@test "fallocate: allocate, punch holes (KEEP_SIZE), zero ranges, as on ext4" {
	vn_diff falloc_steps
	echo "$vn_out"
	[ "$(sed -n 1,5p <<<"$vn_out")" = "$(printf '1048576 2048\n1048576 2032\n4096\n12288\n1048576 4080')" ]
	[ "$(sed -n 6,9p <<<"$vn_out")" = "$(printf '0\n2101248 4088\nEOPNOTSUPP\n0')" ]
	[ "$(stat -c '%s %b' "$MNT/f")" = "$(stat -c '%s %b' "$SRC/f")" ]
}

sparse_steps() {
	"$VNOP" open s O_CREAT,O_RDWR 0644 : write %0 0 a : write %0 1048576 b \
		: ftruncate %0 3145728 >/dev/null
	local off
	for off in 0 1 4095 4096 100000 1048575 1048576 1048577 1052672 2097152 3145727 3145728 4000000; do
		echo "$off: $("$VNOP" lseek s $off SEEK_DATA) $("$VNOP" lseek s $off SEEK_HOLE)"
	done
	"$VNOP" open s O_RDONLY : lseek %0 -1 SEEK_SET
	"$VNOP" open s O_RDONLY : lseek %0 10 SEEK_END
}

@test "lseek: SEEK_DATA and SEEK_HOLE on a sparse file answer as on ext4" {
	vn_diff sparse_steps
	echo "$vn_out"
	[[ "$vn_out" == *"4096: 1048576 4096"* ]]
	[[ "$vn_out" == *"2097152: ENXIO 2097152"* ]]
	[[ "$vn_out" == *"4000000: ENXIO ENXIO"* ]]
	cmp "$MNT/s" "$SRC/s"
}

bigoff_steps() {
	"$VNOP" write f 5000000000 x
	"$VNOP" stat f size
	"$VNOP" lseek f 0 SEEK_DATA
	"$VNOP" read f 5000000000 10
	"$VNOP" write f 17592186044416 x # ext4's limit: 16 TiB
	"$VNOP" truncate f 17592186044417
	"$VNOP" truncate f 8796093022208
	"$VNOP" stat f size
}

@test "offsets past 4 GiB, and EFBIG past ext4's 16 TiB limit" {
	vn_diff touch f
	vn_diff bigoff_steps
	echo "$vn_out"
	[ "$vn_out" = "1
5000000001
4999999488
1
EFBIG
EFBIG
0
8796093022208" ]
	[ "$(stat -c %s "$SRC/f")" = 8796093022208 ]
}

cfr_steps() {
	printf '0123456789abcdef' >in
	"$VNOP" copy_file_range in 0 out 0 16
	"$VNOP" copy_file_range in 10 out 100 6
	"$VNOP" copy_file_range in 16 out 0 10
	"$VNOP" copy_file_range in 0 in 2 4 # overlapping, same file
	od -An -c out
	vn_attrs out
	mkdir d
	"$VNOP" copy_file_range d 0 out 0 1
}

@test "copy_file_range: copies ranges, reaches the daemon, errors as on ext4" {
	vn_unmount
	vn_mount -d -o allow_other
	vn_diff touch out
	vn_diff cfr_steps
	echo "$vn_out"
	[ "$(sed -n 1,4p <<<"$vn_out")" = "$(printf '16\n6\n0\nEINVAL')" ]
	[ "$(tail -1 <<<"$vn_out")" = EISDIR ]
	cmp "$MNT/out" "$SRC/out"
	[ "$(head -c 16 "$SRC/out")" = 0123456789abcdef ]
	grep -q 'opcode: COPY_FILE_RANGE' "$WORK/daemon.log"
}

@test "copy_file_range: python's os.copy_file_range between two files" {
	head -c 300000 /dev/urandom >"$MNT/a"
	python3 -c '
import os, sys
i = os.open(sys.argv[1], os.O_RDONLY)
o = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
left = os.fstat(i).st_size
while left:
    n = os.copy_file_range(i, o, left)
    assert n > 0
    left -= n' "$MNT/a" "$MNT/b"
	cmp "$SRC/a" "$SRC/b"
	cmp "$MNT/a" "$MNT/b"
}

@test "fsync, fdatasync and fsyncdir reach the daemon and succeed" {
	vn_unmount
	vn_mount -d -o allow_other
	at "$MNT" vn_expect "$(printf '0\n4\n0')" open f O_CREAT,O_WRONLY 0644 : write %0 0 data : fsync %0
	at "$MNT" vn_expect "$(printf '0\n0')" open . O_RDONLY,O_DIRECTORY : fsync %0
	dd if=/dev/zero of="$MNT/g" bs=4096 count=4 conv=fsync status=none
	dd if=/dev/zero of="$MNT/h" bs=4096 count=4 conv=fdatasync status=none
	[ "$(cat "$SRC/f")" = data ]
	[ "$(stat -c %s "$SRC/g")" = 16384 ]
	grep -q 'opcode: FSYNC ' "$WORK/daemon.log"
	grep -q 'opcode: FSYNCDIR' "$WORK/daemon.log"
}

@test "large file: 64 MiB written through the mount reads back identical" {
	head -c 64M /dev/urandom >"$REF/big"
	cp "$REF/big" "$MNT/big"
	want=$(sha256sum <"$REF/big")
	[ "$(sha256sum <"$SRC/big")" = "$want" ]
	# read back through the daemon, not the page cache
	vn_unmount
	vn_mount -o allow_other
	[ "$(sha256sum <"$MNT/big")" = "$want" ]
	[ "$(stat -c %s "$MNT/big")" = 67108864 ]
	# and a rewrite of the middle, read via SOURCE
	dd if=/dev/zero of="$MNT/big" bs=1M seek=20 count=3 conv=notrunc status=none
	dd if=/dev/zero of="$REF/big" bs=1M seek=20 count=3 conv=notrunc status=none
	[ "$(sha256sum <"$SRC/big")" = "$(sha256sum <"$REF/big")" ]
}

# Start `vnop ARGS... : hold` in dir $1 in the background; it keeps its
# descriptors and locks until hold_release. Waits until it holds them.
hold_start() {
	local dir=$1 i
	shift
	mkfifo "$WORK/hold.in"
	(cd "$dir" && exec "$VNOP" "$@" : hold <"$WORK/hold.in" >"$WORK/hold.out") &
	HOLDER=$!
	exec {HOLD_FD}>"$WORK/hold.in"
	local calls=$(($(grep -o ' : ' <<<" $* " | wc -l) + 1))
	for i in $(seq 1 200); do
		# one line per call, and one more from hold once it holds
		[ "$(grep -c . "$WORK/hold.out")" -gt "$calls" ] && break
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.05
	done
	echo "holder says: $(tr '\n' ' ' <"$WORK/hold.out")"
	[ "$(tail -1 "$WORK/hold.out")" = 0 ]
	[ "$(grep -vc '^0$' "$WORK/hold.out")" = 0 ]
}

hold_release() {
	exec {HOLD_FD}>&-
	wait "$HOLDER"
	HOLDER=
	rm -f "$WORK/hold.in" "$WORK/hold.out"
}

# flock exclusion in dir $1, between the holder and other processes.
flock_check() {
	local dir=$1
	echo x >"$dir/f"
	echo o >"$dir/other"
	hold_start "$dir" flock f LOCK_EX
	at "$dir" vn_expect EAGAIN flock f LOCK_EX,LOCK_NB
	at "$dir" vn_expect EAGAIN flock f LOCK_SH,LOCK_NB
	run flock -n "$dir/f" true
	[ "$status" -eq 1 ]
	at "$dir" vn_expect 0 flock other LOCK_EX,LOCK_NB # another file is free
	hold_release
	run flock -n "$dir/f" true
	[ "$status" -eq 0 ]
	hold_start "$dir" flock f LOCK_SH
	at "$dir" vn_expect 0 flock f LOCK_SH,LOCK_NB
	at "$dir" vn_expect EAGAIN flock f LOCK_EX,LOCK_NB
	hold_release
}

@test "flock: exclusion between two processes through the mount, as on ext4" {
	flock_check "$MNT"
	flock_check "$REF"
}

# POSIX record locks in dir $1: the holder write-locks bytes 0-99.
posix_check() {
	local dir=$1
	echo data >"$dir/f"
	hold_start "$dir" setlk f F_WRLCK 0 100
	at "$dir" vn_expect EAGAIN setlk f F_WRLCK 0 1
	at "$dir" vn_expect EAGAIN setlk f F_RDLCK 50 10
	at "$dir" vn_expect 0 setlk f F_WRLCK 100 10 # just past the held range
	run python3 -c '
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("locked")
except OSError as e:
    print(errno.errorcode[e.errno])' "$dir/f"
	[ "$output" = EAGAIN ] || [ "$output" = EACCES ]
	hold_release
	at "$dir" vn_expect 0 setlk f F_WRLCK 0 0
}

@test "POSIX locks: exclusion between two processes through the mount, as on ext4" {
	posix_check "$MNT"
	posix_check "$REF"
}
