#!/usr/bin/env bats
# The fd budget: a node does not pin a file descriptor. A tree of 50,000
# files, more than ten times the daemon's fd limit of 4096, is walked,
# stat'ed and read in full through the mount; the daemon keeps no more
# than its cache of half the limit open, and nothing fails with EMFILE.

load helpers

NOFILE=4096
NDIRS=100
NFILES=500 # per dir
# The O_PATH cache is half the limit; allow some more for open files,
# directory streams, /dev/fuse, the log and libfuse's pipes.
FD_MAX=$((NOFILE / 2 + 128))

setup_file() {
	# Built once, directly in a source dir that both tests mount.
	TREE=$BATS_FILE_TMPDIR/tree
	export TREE
	mkdir -p "$TREE"
	chmod 755 "$BATS_FILE_TMPDIR" "$TREE"
	python3 - "$TREE" "$NDIRS" "$NFILES" <<-'EOF'
	import os, sys
	top, ndirs, nfiles = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	for d in range(ndirs):
	    dp = os.path.join(top, "d%03d" % d)
	    os.mkdir(dp)
	    for f in range(nfiles):
	        with open(os.path.join(dp, "f%03d" % f), "w") as fh:
	            fh.write("%d/%d\n" % (d, f) * (1 + (d + f) % 7))
	EOF
}

setup() {
	vn_setup
	SRC=$TREE
}

teardown() {
	[ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
	vn_teardown
}

# Record the largest number of fds the daemon has open, sampled every
# 20 ms, into $WORK/fdmax, until killed.
start_sampler() {
	python3 - "$VN_PID" "$WORK/fdmax" <<-'EOF' &
	import os, signal, sys, time
	pid, out = sys.argv[1], sys.argv[2]
	top = 0
	def done(*_):
	    with open(out, "w") as f:
	        f.write("%d\n" % top)
	    sys.exit(0)
	signal.signal(signal.SIGTERM, done)
	while True:
	    try:
	        top = max(top, len(os.listdir("/proc/%s/fd" % pid)))
	    except OSError:
	        pass
	    time.sleep(0.02)
	EOF
	SAMPLER=$!
}

stop_sampler() {
	local i
	kill "$SAMPLER"
	wait "$SAMPLER" || true
	SAMPLER=
	[ -s "$WORK/fdmax" ]
	fdmax=$(cat "$WORK/fdmax")
}

# The fds the daemon has open now.
daemon_fds() {
	ls "/proc/$VN_PID/fd" | wc -l
}

# Walk, stat and read the whole tree through the mount and compare with
# SOURCE; fail on any error message or on too many daemon fds.
walk_the_tree() {
	local want m s
	want=$((NDIRS * NFILES))
	grep -q "^Max open files *$NOFILE *$NOFILE " "/proc/$VN_PID/limits"
	start_sampler

	# Every name, and every stat field passthrough keeps.
	m=$(cd "$MNT" && find . -printf '%P %y %m %n %u %g %s %i %T@\n' \
		2>"$WORK/find.err" | sort)
	s=$(cd "$SRC" && find . -printf '%P %y %m %n %u %g %s %i %T@\n' | sort)
	[ ! -s "$WORK/find.err" ] || { cat "$WORK/find.err" >&2; return 1; }
	[ "$(grep -c ' f ' <<<"$m")" -eq "$want" ]
	[ "$m" = "$s" ] || { echo "stat differs from SOURCE" >&2; return 1; }
	echo "daemon fds after the walk: $(daemon_fds)"

	# Every file's content, in one pass, and a stat of each by name.
	python3 - "$MNT" "$SRC" <<-'EOF'
	import hashlib, os, sys
	def digest(top):
	    h, n = hashlib.sha256(), 0
	    for d in sorted(os.listdir(top)):
	        for f in sorted(os.listdir(os.path.join(top, d))):
	            p = os.path.join(top, d, f)
	            st = os.stat(p)
	            with open(p, "rb") as fh:
	                data = fh.read()
	            if len(data) != st.st_size:
	                sys.exit("%s: read %d bytes of %d" % (p, len(data), st.st_size))
	            h.update(p[len(top):].encode() + b"\0" + data)
	            n += 1
	    return h.hexdigest(), n
	m, s = digest(sys.argv[1]), digest(sys.argv[2])
	print("mount", m, "source", s)
	if m != s:
	    sys.exit("contents differ")
	EOF
	echo "daemon fds after reading: $(daemon_fds)"

	stop_sampler
	echo "most daemon fds seen: $fdmax (limit $NOFILE, budget $FD_MAX)"
	[ "$fdmax" -lt "$NOFILE" ]
	[ "$fdmax" -le "$FD_MAX" ]
	[ "$(daemon_fds)" -le "$FD_MAX" ]
	if grep -i -e error -e 'too many' -e EMFILE "$WORK/daemon.log"; then
		return 1
	fi
	vn_unmount
}

@test "50,000 files under a limit of 4096 fds (default cache)" {
	vn_mount_nofile $NOFILE
	walk_the_tree
}

@test "50,000 files under a limit of 4096 fds (cache=always)" {
	# The kernel keeps every inode, so the daemon keeps every node, with
	# at most its cache of fds.
	vn_mount_nofile $NOFILE -o cache=always
	walk_the_tree
}

@test "the daemon frees its nodes and their memory once the kernel forgets them" {
	local base grown i
	vn_mount_nofile $NOFILE
	vn_stats
	base=$vn_rss
	[ "$(find "$MNT" -ls | wc -l)" -eq $((NDIRS * NFILES + NDIRS + 1)) ]
	vn_stats
	echo "after the walk: $vn_nodes nodes, rss $vn_rss KiB (from $base)"
	[ "$vn_nodes" -gt $((NDIRS * NFILES)) ]
	grown=$((vn_rss - base))
	# The kernel drops its unused inodes and sends FORGETs for them.
	echo 2 >/proc/sys/vm/drop_caches
	for i in $(seq 100); do
		vn_stats
		[ "$vn_nodes" -le 1 ] && break
		sleep 0.1
	done
	echo "after drop_caches: $vn_nodes nodes, rss $vn_rss KiB"
	[ "$vn_nodes" -le 1 ]
	# At least half of what the nodes took is back with the system (with
	# glibc's malloc: a sanitizer's allocator keeps memory its own way).
	if ldd "$VENEERFS" | grep -q -e libasan -e libtsan; then
		echo "sanitizer build: memory returned not checked"
	else
		[ "$vn_rss" -lt $((base + grown / 2)) ]
	fi
	vn_unmount
}
