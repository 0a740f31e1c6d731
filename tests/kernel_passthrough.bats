#!/usr/bin/env bats
# Kernel passthrough: the kernel reads and writes the real file of an open
# itself, so that file data never reaches the daemon. Each pattern runs in
# both modes (pt: SOURCE on the mount; ovl: an overlay, whose new files are
# in the upper layer) and checks that what was written through the mount
# is what the real file holds, and that the daemon's statistics counted no
# READ or WRITE request. -o nopassthrough, a refused ioctl and a user
# namespace (where the kernel refuses backing files) must give the same
# data with READ and WRITE counted.

load helpers

setup() {
	export LC_ALL=C
	vn_setup
	LOWER=$WORK/lower UPPER=$WORK/upper
	mkdir -p "$LOWER" "$UPPER" "$WORK/ovwork"
	PT_IO="python3 $VN_TESTS/pt_io.py"
}

teardown() {
	cd /
	[ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null || true
	if [ -n "${VN_PID:-}" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
		wait "$VN_PID" 2>/dev/null || true
		VN_PID=
	fi
	for m in "$WORK/kovl" "$SRC"; do
		mountpoint -q "$m" && umount "$m"
	done
	vn_teardown
}

# kp_mount MODE [OPTIONS]: mount in MODE (pt or ovl) with OPTIONS; REAL is
# where a file made through the mount is, OLD where one that was there
# before the mount is (SOURCE, or the lower layer).
kp_mount() {
	local mode=$1 o=${2:+,$2}
	if [ "$mode" = pt ]; then
		REAL=$SRC OLD=$SRC
		vn_mount -o "allow_other$o"
		return
	fi
	REAL=$UPPER OLD=$LOWER
	"$VENEERFS" -f -o "allow_other,lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK/ovwork$o" \
		"$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT" || { cat "$WORK/daemon.log" >&2; return 1; }
}

# old_file NAME SIZE: a file of SIZE random bytes that is there before the
# mount (in SOURCE, and in the lower layer); $WORK/NAME.orig keeps it.
old_file() {
	head -c "$2" /dev/urandom >"$WORK/$1.orig"
	cp "$WORK/$1.orig" "$SRC/$1"
	cp "$WORK/$1.orig" "$LOWER/$1"
}

# no_data_requests: the daemon served no READ or WRITE, and the kernel
# served at least one open from the real file.
no_data_requests() {
	vn_stats
	echo "passthrough $vn_pt, opens $vn_pt_opens/$vn_daemon_opens, reads $vn_reads, writes $vn_writes" >&2
	[ "$vn_pt" = on ]
	[ "$vn_pt_opens" -gt 0 ]
	[ "$vn_reads" = 0 ]
	[ "$vn_writes" = 0 ]
}

# data_requests: passthrough is off, and READ and WRITE reached the daemon.
data_requests() {
	vn_stats
	echo "passthrough $vn_pt, opens $vn_pt_opens/$vn_daemon_opens, reads $vn_reads, writes $vn_writes" >&2
	[ "$vn_pt" = off ]
	[ "$vn_pt_opens" = 0 ]
	[ "$vn_reads" -gt 0 ]
	[ "$vn_writes" -gt 0 ]
}

# check_pattern MODE PATTERN [OPTIONS]: mount, then check_pattern_mounted.
check_pattern() {
	kp_mount "$1" "${3:-}"
	check_pattern_mounted "$2"
}

# check_pattern_mounted PATTERN: run pt_io.py PATTERN on the mount; the
# real file must hold what it wrote, and read back through the mount.
check_pattern_mounted() {
	run $PT_IO "$1" "$MNT/f" "$WORK/model"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	cmp "$WORK/model" "$REAL/f"
	cmp "$WORK/model" "$MNT/f"
}

@test "pt: INIT negotiates passthrough; -d and the statistics say so" {
	kp_mount pt -d
	grep -q 'passthrough: on, max_stack_depth 1' "$WORK/daemon.log"
	head -c 1048576 /dev/urandom >"$MNT/f"
	grep -q 'OPEN of nodeid [0-9]*: passthrough, backing id [0-9]*' "$WORK/daemon.log"
	vn_stats
	[ "$vn_pt" = on ]
	[ "$vn_pt_opens" = 1 ]
	grep -q 'stats: .*; passthrough on; files [0-9]* open, opened 1 passthrough' "$WORK/daemon.log"
}

# check_seq MODE [OPTIONS]: 16 MiB written through the mount are in the
# real file, and read back, cold, through the mount.
check_seq() {
	head -c 16777216 /dev/urandom >"$WORK/data"
	kp_mount "$@"
	dd if="$WORK/data" of="$MNT/f" bs=1M conv=fsync status=none
	cmp "$WORK/data" "$REAL/f"
	echo 3 >/proc/sys/vm/drop_caches
	cmp "$WORK/data" "$MNT/f"
}

@test "pt: sequential writes and reads reach the real file, with no READ or WRITE" {
	check_seq pt
	no_data_requests
}

@test "ovl: sequential writes and reads reach the upper file, with no READ or WRITE" {
	check_seq ovl
	no_data_requests
}

@test "nopassthrough: the same data, through READ and WRITE requests" {
	for mode in pt ovl; do
		check_seq $mode nopassthrough
		data_requests
		vn_unmount
	done
}

@test "pt: random writes and reads" {
	check_pattern pt random
	no_data_requests
}

@test "ovl: random writes and reads" {
	check_pattern ovl random
	no_data_requests
}

@test "pt: O_APPEND from two handles" {
	check_pattern pt append
	no_data_requests
}

@test "ovl: O_APPEND from two handles" {
	check_pattern ovl append
	no_data_requests
}

@test "pt: O_DIRECT writes and reads" {
	check_pattern pt direct
	no_data_requests
}

@test "ovl: O_DIRECT writes and reads" {
	check_pattern ovl direct
	no_data_requests
}

@test "pt: mmap writes and reads" {
	check_pattern pt mmap
	no_data_requests
}

@test "ovl: mmap writes and reads" {
	check_pattern ovl mmap
	no_data_requests
}

@test "pt: truncate, then read" {
	check_pattern pt truncate
	no_data_requests
}

@test "ovl: truncate, then read" {
	check_pattern ovl truncate
	no_data_requests
}

@test "pt: a reader handle sees a writer handle's data at once" {
	check_pattern pt handles
	no_data_requests
}

@test "ovl: a reader handle sees a writer handle's data at once" {
	check_pattern ovl handles
	no_data_requests
}

@test "the patterns pass with nopassthrough too" {
	for mode in pt ovl; do
		kp_mount $mode nopassthrough
		for p in random append direct mmap truncate handles; do
			check_pattern_mounted $p
			rm "$MNT/f"
		done
		data_requests
		vn_unmount
	done
}

# check_writer_beside_reader MODE: a file there before the mount, open for
# reading through passthrough, is opened for writing: the open succeeds,
# the writer reads its own writes, and every later open sees them.
check_writer_beside_reader() {
	old_file f 1048576
	kp_mount "$1"
	run python3 - "$MNT/f" <<-'EOF'
	import os, sys
	p = sys.argv[1]
	r = os.open(p, os.O_RDONLY)
	first = os.pread(r, 4096, 0)
	w = os.open(p, os.O_RDWR)
	os.pwrite(w, b"written", 0)
	print("writer reads", os.pread(w, 7, 0))
	again = os.open(p, os.O_RDONLY)
	print("a later open reads", os.pread(again, 7, 0))
	os.close(w)
	os.close(again)
	print("the first reader still reads", len(os.pread(r, 1 << 21, 0)), "bytes")
	os.close(r)
	r = os.open(p, os.O_RDONLY)
	print("reopened, reads", os.pread(r, 7, 0))
	EOF
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "writer reads b'written'" ]
	[ "${lines[1]}" = "a later open reads b'written'" ]
	[ "${lines[2]}" = "the first reader still reads 1048576 bytes" ]
	[ "${lines[3]}" = "reopened, reads b'written'" ]
	cmp -i 7 "$WORK/f.orig" "$REAL/f"
	[ "$(head -c 7 "$REAL/f")" = written ]
	no_data_requests
}

@test "pt: a write open beside a passthrough reader" {
	check_writer_beside_reader pt
	# One file, one backing file for both handles, and one node.
	[ "$vn_pt_opens" = 4 ]
}

@test "ovl: a write open of a lower file beside a passthrough reader copies up" {
	check_writer_beside_reader ovl
	cmp "$WORK/f.orig" "$LOWER/f"
}

# check_parallel MODE: 20 files there before the mount, 200 threads with
# a handle open on one of them at the same time (every fourth for
# writing), each reading the whole file.
check_parallel() {
	local i
	for i in $(seq 20); do
		head -c $((300000 + i * 1000)) /dev/urandom >"$OLD_DIR/f$i"
	done
	kp_mount "$1"
	run $PT_IO parallel "$MNT" 200
	echo "$output" >&2
	[ "$status" -eq 0 ]
	no_data_requests
}

@test "pt: 200 handles open at once on 20 files" {
	OLD_DIR=$SRC check_parallel pt
	[ "$vn_pt_opens" -ge 220 ]
}

@test "ovl: 200 handles open at once on 20 lower files, some copied up" {
	OLD_DIR=$LOWER check_parallel ovl
	# The files opened for writing, and only those, were copied up.
	[ "$(ls "$UPPER" | wc -l)" = 5 ]
	for f in "$UPPER"/*; do
		cmp "$LOWER/${f##*/}" "$f"
	done
}

# Small files (64 KiB at most) opened for reading are the daemon's: the
# kernel keeps their pages from one open to the next, so a warm read
# sends nothing but OPEN and RELEASE.
@test "small files read through the daemon, and kept by the kernel" {
	for mode in pt ovl; do
		old_file small 65536
		old_file big 65537
		kp_mount $mode
		cmp "$WORK/small.orig" "$MNT/small"
		vn_stats
		local reads=$vn_reads opens=$vn_daemon_opens
		[ "$reads" -ge 1 ]
		cmp "$WORK/small.orig" "$MNT/small"
		vn_stats
		[ "$vn_reads" = "$reads" ]
		[ "$vn_daemon_opens" = $((opens + 1)) ]
		[ "$vn_pt_opens" = 0 ]
		cmp "$WORK/big.orig" "$MNT/big"
		vn_stats
		[ "$vn_reads" = "$reads" ]
		[ "$vn_pt_opens" = 1 ]
		vn_unmount
		rm -rf "$UPPER"/* "$SRC"/*
	done
}

# A small file's pages, kept by the kernel from a cached open, must not
# outlive a passthrough write (which goes past them) of the same size.
@test "pages kept from a cached open are dropped after a passthrough write" {
	local mode cache
	for mode in pt ovl; do
		for cache in auto always; do
			printf 'old data\n' >"$SRC/f"
			printf 'old data\n' >"$LOWER/f"
			kp_mount $mode cache=$cache
			[ "$(cat "$MNT/f")" = "old data" ]
			vn_wait_closed
			printf 'new data\n' | dd of="$MNT/f" conv=notrunc status=none
			vn_wait_closed
			[ "$(cat "$MNT/f")" = "new data" ]
			vn_stats
			[ "$vn_pt_opens" = 1 ]
			vn_unmount
			rm -rf "$UPPER"/*
		done
	done
}

# The kernel opened the backing file with the daemon's credentials; the
# caller's handle still allows only what its own open did.
@test "a handle allows only its own access mode, as on ext4" {
	local dir mode
	for mode in pt ovl; do
		head -c 1048576 /dev/urandom >"$WORK/big"
		install -m 0644 "$WORK/big" "$SRC/ro"
		install -m 0644 "$WORK/big" "$LOWER/ro"
		install -m 0600 "$WORK/big" "$SRC/private"
		install -m 0600 "$WORK/big" "$LOWER/private"
		install -m 0644 "$WORK/big" "$REF/ro"
		install -m 0600 "$WORK/big" "$REF/private"
		kp_mount $mode
		for dir in "$MNT" "$REF"; do
			as_nobody /usr/bin/python3 - "$dir" >"$WORK/out.$(basename "$dir")" <<-'EOF'
			import errno, mmap, os, sys
			d = sys.argv[1]
			def show(what, f):
			    try:
			        print(what, f())
			    except OSError as e:
			        print(what, errno.errorcode[e.errno])
			fd = os.open(d + "/ro", os.O_RDONLY)
			show("read", lambda: len(os.read(fd, 100)))
			show("write", lambda: os.write(fd, b"x"))
			show("shared writable map", lambda: mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_WRITE))
			show("private writable map", lambda: mmap.mmap(fd, 4096, mmap.MAP_PRIVATE, mmap.PROT_WRITE).close())
			show("open for writing", lambda: os.open(d + "/ro", os.O_WRONLY))
			show("open a private file", lambda: os.open(d + "/private", os.O_RDONLY))
			EOF
		done
		diff "$WORK/out.ref" "$WORK/out.mnt"
		cmp "$WORK/big" "$OLD/ro"
		grep -q '^write EBADF$' "$WORK/out.mnt"
		vn_stats
		[ "$vn_pt_opens" -ge 1 ]
		vn_unmount
	done
}

@test "writeback is refused unless passthrough is off" {
	run "$VENEERFS" -f -o writeback "$SRC" "$MNT"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "veneerfs: "*nopassthrough* ]]
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
}

# The kernel refuses a backing file (EPERM, as without CAP_SYS_ADMIN):
# the mount falls back for good, says so once, and works as without
# passthrough.
@test "a refused backing file: one warning, then everything through the daemon" {
	local mode
	for mode in pt ovl; do
		# The injector is built beside vnop (in the build tree). A
		# sanitized daemon wants its runtime first; the injector goes
		# before it.
		LD_PRELOAD=${FAULTINJECT:-$(dirname "$VNOP")/faultinject.so} VN_FAULT=backing_open=1 \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			kp_mount $mode
		check_pattern_mounted random
		head -c 1048576 /dev/urandom >"$MNT/g"
		cmp "$MNT/g" "$REAL/g"
		data_requests
		grep -q 'off (refused by the kernel)' "$WORK/daemon.log"
		[ "$(grep -c 'passthrough: the kernel refuses backing files' "$WORK/daemon.log")" = 1 ]
		vn_unmount
		rm -rf "$UPPER"/* "$SRC"/*
	done
}

# In a user namespace the kernel refuses backing files (CAP_SYS_ADMIN in
# the initial namespace is needed): the real case of the fallback above.
@test "in a user namespace: passthrough refused, the data goes through the daemon" {
	head -c 4194304 /dev/urandom >"$WORK/data"
	chown -R 0:0 "$WORK"
	WORK=$WORK SRC=$SRC MNT=$MNT VENEERFS=$VENEERFS \
		unshare -Urm --propagation private bash -e -c '
		"$VENEERFS" -f "$SRC" "$MNT" 2>"$WORK/daemon.log" &
		pid=$!
		for i in $(seq 200); do mountpoint -q "$MNT" && break; sleep 0.05; done
		cp "$WORK/data" "$MNT/f"
		cmp "$WORK/data" "$SRC/f"
		cmp "$WORK/data" "$MNT/f"
		kill -USR1 $pid
		for i in $(seq 200); do grep -q "stats:" "$WORK/daemon.log" && break; sleep 0.05; done
		umount "$MNT"
		wait $pid'
	cat "$WORK/daemon.log" >&2
	grep -q 'passthrough: the kernel refuses backing files' "$WORK/daemon.log"
	line=$(grep 'stats:' "$WORK/daemon.log")
	[[ $line == *"passthrough off (refused by the kernel); files 0 open, opened 0 passthrough"* ]]
	[[ $line =~ requests\ [1-9][0-9]*\ read\ [1-9][0-9]*\ write ]]
}

# Stacking: with max_stack_depth 1 a real file on overlayfs or on another
# FUSE mount cannot be a backing file (ELOOP): that file goes through the
# daemon, silently. And the mount itself can be a layer of overlayfs.
@test "SOURCE on the kernel's overlayfs: files through the daemon" {
	mkdir -p "$WORK/kl" "$WORK/ku" "$WORK/kw"
	old_file f 1048576
	mv "$SRC/f" "$WORK/kl/f"
	mount -t overlay overlay -o "lowerdir=$WORK/kl,upperdir=$WORK/ku,workdir=$WORK/kw" "$SRC"
	kp_mount pt
	cmp "$WORK/f.orig" "$MNT/f"
	check_pattern_mounted random
	vn_stats
	[ "$vn_pt" = on ]
	[ "$vn_pt_opens" = 0 ]
	[ "$vn_reads" -gt 0 ]
	[ "$vn_writes" -gt 0 ]
	run grep -i 'warn\|error' "$WORK/daemon.log"
	[ "$status" -ne 0 ]
}

@test "SOURCE on another veneerfs mount: files through the outer daemon" {
	old_file f 1048576
	mkdir -p "$WORK/inner"
	mv "$SRC/f" "$WORK/inner/f"
	"$VENEERFS" -f "$WORK/inner" "$SRC" 2>"$WORK/inner.log" &
	local inner=$!
	vn_wait_mount "$SRC"
	kp_mount pt
	cmp "$WORK/f.orig" "$MNT/f"
	check_pattern_mounted random
	vn_stats
	[ "$vn_pt_opens" = 0 ]
	[ "$vn_reads" -gt 0 ]
	vn_stats "$inner" "$WORK/inner.log"
	[ "$vn_pt_opens" -gt 0 ]
	[ "$vn_reads" = 0 ]
	vn_unmount
	fusermount3 -u "$SRC"
	wait "$inner"
}

@test "the mount as a lower layer of the kernel's overlayfs" {
	old_file f 1048576
	kp_mount pt
	mkdir -p "$WORK/kovl" "$WORK/ku" "$WORK/kw"
	mount -t overlay overlay -o "lowerdir=$MNT,upperdir=$WORK/ku,workdir=$WORK/kw" "$WORK/kovl"
	cmp "$WORK/f.orig" "$WORK/kovl/f"
	no_data_requests
	umount "$WORK/kovl"
}

# execve's open holds no write access to the real file: running the real
# file directly while the mount runs it works, as on ext4.
@test "pt: a program run through the mount leaves the real file executable" {
	cp /bin/bash "$SRC/bash"
	mkfifo "$WORK/fifo"
	kp_mount pt
	"$MNT/bash" -c 'read -r line <"$0"' "$WORK/fifo" &
	BG_PID=$!
	local pid=$BG_PID i
	for i in $(seq 200); do
		[ "$(readlink "/proc/$pid/exe")" = "$MNT/bash" ] && break
		sleep 0.05
	done
	[ "$(readlink "/proc/$pid/exe")" = "$MNT/bash" ]
	"$SRC/bash" -c true
	vn_stats
	[ "$vn_pt_opens" = 1 ]
	echo done >"$WORK/fifo"
	wait "$pid"
}

# node_requests OPCODE NODEID: how many requests of that kind for that
# node the -d trace shows.
node_requests() {
	grep -c "opcode: $1 ([0-9]*), nodeid: $2," "$WORK/daemon.log" || true
}

# A passed-through write by a caller without CAP_FSETID must still clear
# set-ID bits and capabilities (perms.bats compares the outcome with
# ext4). The kernel asks the daemon about a file once, not at every write:
# 1000 writes cost two GETXATTR (its ACL and security.capability), and one
# SETATTR where there is a bit to clear.
@test "pt: 1000 writes by another user: set-ID bits cleared, with no request per write" {
	local -a ids
	head -c 65536 /dev/zero >"$SRC/plain"
	head -c 65536 /dev/zero >"$SRC/setuid"
	chmod 0666 "$SRC/plain"
	chmod 4777 "$SRC/setuid"
	kp_mount pt debug
	as_nobody dd if=/dev/zero of="$MNT/plain" bs=4096 count=1000 conv=notrunc status=none
	as_nobody dd if=/dev/zero of="$MNT/setuid" bs=4096 count=1000 conv=notrunc status=none
	[ "$(stat -c %a "$SRC/setuid")" = 777 ]
	[ "$(stat -c %s "$SRC/plain")" = 4096000 ]
	vn_stats
	[ "$vn_writes" = 0 ]
	# The trace names each passthrough open's node: plain's, then setuid's.
	ids=($(sed -n 's/^veneerfs: OPEN of nodeid \([0-9]*\): passthrough.*/\1/p' "$WORK/daemon.log"))
	[ "${#ids[@]}" = 2 ]
	echo "plain: GETXATTR $(node_requests GETXATTR ${ids[0]}), SETATTR $(node_requests SETATTR ${ids[0]})" >&2
	echo "setuid: GETXATTR $(node_requests GETXATTR ${ids[1]}), SETATTR $(node_requests SETATTR ${ids[1]})" >&2
	[ "$(node_requests GETXATTR ${ids[0]})" -le 2 ]
	[ "$(node_requests SETATTR ${ids[0]})" = 0 ]
	[ "$(node_requests GETXATTR ${ids[1]})" -le 2 ]
	[ "$(node_requests SETATTR ${ids[1]})" = 1 ]
}
