#!/usr/bin/env bats
# Many threads: 16 processes write and read 10,000 files in 100 shared
# directories at once, through a multi-threaded daemon. Every byte read
# is checked against what was written: a file is read only while no one
# writes it (its old data) or after its writer has finished (its new data),
# so any difference is lost or torn data, not a race the test allows. The
# phases are separated by barriers; a deadlock shows as the timeout. The
# same on an overlay whose lower layer holds the files, so that the
# rewrites are concurrent copy-ups next to reads of the lower files.

load helpers

NFILES=10000
NWORKERS=16

setup_file() {
	MANY=$BATS_FILE_TMPDIR/many.py
	export MANY
	cat >"$MANY" <<'PYEOF'
import hashlib, multiprocessing as mp, os, random, sys

top, nfiles, nworkers, phase0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def path(i):
    return "%s/d%02d/f%05d" % (top, i % 100, i)


def content(i, gen):
    # 1..16 KiB, different for every file and generation.
    size = 1024 + (i * 7919 + gen * 104729) % (15 * 1024)
    seed = hashlib.sha256(b"%d/%d" % (i, gen)).digest()
    return (seed * (size // 32 + 1))[:size]


def check(i, gen):
    with open(path(i), "rb") as f:
        data = f.read()
    if data != content(i, gen):
        raise SystemExit("%s: %d bytes differ from generation %d (%d bytes)"
                         % (path(i), len(data), gen, len(content(i, gen))))


def write(i, gen, rng):
    # In 4 KiB pieces, in random order, then truncated to size: the file
    # is longer or shorter than before, and written out of order.
    data = content(i, gen)
    fd = os.open(path(i), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        pieces = list(range(0, len(data), 4096))
        rng.shuffle(pieces)
        for off in pieces:
            if os.pwrite(fd, data[off:off + 4096], off) != len(data[off:off + 4096]):
                raise SystemExit("%s: short write" % path(i))
        os.ftruncate(fd, len(data))
        if i % 50 == 0:
            os.fsync(fd)
    finally:
        os.close(fd)


def worker(w, barrier):
    rng = random.Random(w)
    mine = range(w, nfiles, nworkers)
    # Phase 1: create (unless the files are already there, in a lower
    # layer), all workers in the same 100 directories.
    if phase0 == "create":
        for i in mine:
            write(i, 0, rng)
    barrier.wait()
    # Phase 2: rewrite my odd files while everyone reads the even files
    # of every worker, which no one writes.
    evens = [i for i in range(nfiles) if i % 2 == 0]
    rng.shuffle(evens)
    reads = iter(evens[:nfiles // 4])
    for i in mine:
        if i % 2:
            write(i, 1, rng)
            check(i, 1)
        for _ in range(2):
            j = next(reads, None)
            if j is not None:
                check(j, 0)
    barrier.wait()
    # Phase 3: everyone checks a random share of all files, then removes
    # its files with a number ending in 3 or 7.
    for i in rng.sample(range(nfiles), nfiles // nworkers):
        check(i, i % 2)
    barrier.wait()
    for i in mine:
        if i % 10 in (3, 7):
            os.unlink(path(i))


if __name__ == "__main__":
    for d in range(100):
        os.makedirs("%s/d%02d" % (top, d), exist_ok=True)
    barrier = mp.Barrier(nworkers)
    procs = [mp.Process(target=worker, args=(w, barrier)) for w in range(nworkers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        sys.exit("workers failed: %s" % bad)
    left = sum(len(os.listdir("%s/d%02d" % (top, d))) for d in range(100))
    if left != nfiles - nfiles // 5:
        sys.exit("%d files left, %d expected" % (left, nfiles - nfiles // 5))
    print("%d workers, %d files: every read matched" % (nworkers, nfiles))
PYEOF
}

setup() {
	vn_setup
}

teardown() {
	vn_teardown
}

# The final tree through the mount must be the one on disk (passthrough)
# and the daemon must exit cleanly with nothing logged.
finish() {
	local m s
	m=$(cd "$MNT" && find . -type f -printf '%P %s\n' | sort | md5sum)
	s=$(cd "$1" && find . -type f -printf '%P %s\n' | sort | md5sum)
	[ "$m" = "$s" ]
	vn_unmount
	if [ -s "$WORK/daemon.log" ]; then
		cat "$WORK/daemon.log" >&2
		return 1
	fi
}

@test "16 writers and readers over 10,000 files (passthrough)" {
	vn_mount
	run timeout 300 python3 "$MANY" "$MNT" $NFILES $NWORKERS create
	echo "$output"
	[ "$status" -eq 0 ]
	finish "$SRC"
}

@test "16 writers and readers over 10,000 files (overlay: copy-ups beside lower reads)" {
	local lower=$WORK/lower up=$WORK/upper work=$WORK/work m k
	mkdir -p "$lower" "$up" "$work"
	# The files start in the lower layer, written directly.
	python3 - "$MANY" "$lower" $NFILES <<-'EOF'
	import importlib.util, random, sys
	spec = importlib.util.spec_from_file_location("many", sys.argv[1])
	sys.argv = [sys.argv[1], sys.argv[2], sys.argv[3], "1", "x"]
	many = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(many)
	import os
	for d in range(100):
	    os.makedirs("%s/d%02d" % (many.top, d), exist_ok=True)
	rng = random.Random(0)
	for i in range(many.nfiles):
	    many.write(i, 0, rng)
	EOF
	"$VENEERFS" -f -o "lowerdir=$lower,upperdir=$up,workdir=$work" "$MNT" \
		2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	run timeout 300 python3 "$MANY" "$MNT" $NFILES $NWORKERS lower
	echo "$output"
	[ "$status" -eq 0 ]
	# Half the files were rewritten: those (but the removed) are in the
	# upper layer, each removed one is a whiteout there.
	[ "$(find "$up" -type f | wc -l)" -eq $((NFILES / 2 - NFILES / 5)) ]
	[ "$(find "$up" -type c | wc -l)" -eq $((NFILES / 5)) ]
	m=$(cd "$MNT" && find . -type f -printf '%P %s\n' | sort | md5sum)
	vn_unmount
	[ ! -s "$WORK/daemon.log" ] || { cat "$WORK/daemon.log" >&2; return 1; }
	# The kernel's overlayfs over the same layers sees the same tree.
	mount -t overlay overlay -o "lowerdir=$up:$lower" "$MNT"
	k=$(cd "$MNT" && find . -type f -printf '%P %s\n' | sort | md5sum)
	umount "$MNT"
	[ "$m" = "$k" ]
}
