#!/usr/bin/env bats
# Concurrency: 16 processes (12 as root, 4 as uids 3000+, on an allow_other
# mount) make random mixes of operations at once for a few seconds:
# create/write/pwrite/append/truncate and read back, rename within and
# across dirs (and RENAME_EXCHANGE of files and of whole dirs), link and
# unlink, open-unlink-read, mkdir/rmdir, chmod, user.* xattrs, readdir and
# stat. Each worker's private tree is modelled exactly (contents, modes,
# link counts, xattrs, listings): any error or mismatch there fails. A
# shared tree takes the races POSIX allows (ENOENT, EEXIST, ENOTEMPTY, ...)
# and checks that every file read whole is one that a worker published
# whole (written to a temp name, renamed into place). The daemon's fd
# limit is 512, so its O_PATH cache is evicted and refilled all the time,
# by file handle or, without CAP_DAC_READ_SEARCH, by parent and name.
# Afterwards the mount must still answer and the daemon exit 0 with an
# empty log (sanitizer reports go there). The run prints its random seed;
# VN_SEED=N runs the same mix of operations again.

load helpers

SECS=8

setup_file() {
	STRESS=$BATS_FILE_TMPDIR/stress.py
	export STRESS
	cat >"$STRESS" <<'PYEOF'
import ctypes, errno, hashlib, json, os, random, sys, time, traceback
import multiprocessing as mp

libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
AT_FDCWD = -100


def renameat2(a, b, flags):
    r = libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


SHARED_OK = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR,
             errno.EISDIR}
# What a worker that is not root may be refused in the shared tree, where
# files belong to whoever published them last: chmod of another's file
# (EPERM), a hard link to it (protected_hardlinks: EPERM), and its xattr
# when it may not write it (EACCES; EPERM on one not its own).
NONROOT_OK = {"sh_chmod": {errno.EPERM}, "sh_link": {errno.EPERM},
              "sh_xattr": {errno.EACCES, errno.EPERM}}


class Ino:
    def __init__(self, data, mode):
        self.data = bytearray(data)
        self.mode = mode
        self.xattr = {}
        self.names = set()


class Worker:
    def __init__(self, mnt, wid, deadline, uid, seed):
        self.mnt, self.wid, self.deadline, self.uid = mnt, wid, deadline, uid
        self.rng = random.Random(seed * 7919 + wid)
        self.priv = os.path.join(mnt, "p%d" % wid)
        self.shared = os.path.join(mnt, "shared")
        self.names = {}         # relpath in priv -> Ino
        self.pdirs = ["a", "b", "c/d"]
        self.xdirs = set()      # extra private empty dirs
        self.ops = {}
        self.errs = []          # unexpected
        self.tolerated = {}
        self.seq = 0

    # ---------- bookkeeping
    def bad(self, what):
        if len(self.errs) < 50:
            self.errs.append(what)
        else:
            self.errs[-1] = "... more"

    def count(self, op):
        self.ops[op] = self.ops.get(op, 0) + 1

    def tol(self, op, e):
        k = "%s:%s" % (op, errno.errorcode.get(e.errno, e.errno))
        self.tolerated[k] = self.tolerated.get(k, 0) + 1

    def newname(self):
        self.seq += 1
        return "%s/f%d" % (self.rng.choice(self.pdirs), self.seq)

    def p(self, rel):
        return os.path.join(self.priv, rel)

    def rand_data(self, lo=0, hi=65536):
        n = self.rng.randint(lo, hi)
        return self.rng.randbytes(n)

    # ---------- private ops (exact model)
    def op_create(self):
        rel = self.newname()
        data = self.rand_data()
        mode = self.rng.choice([0o600, 0o644, 0o664])
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            off = 0
            while off < len(data):
                k = self.rng.randint(1, 20000)
                os.pwrite(fd, data[off:off + k], off)
                off += k
            if self.rng.random() < 0.1:
                os.fsync(fd)
        finally:
            os.close(fd)
        ino = Ino(data, mode)
        ino.names.add(rel)
        self.names[rel] = ino

    def pick(self):
        if not self.names:
            return None, None
        rel = self.rng.choice(list(self.names))
        return rel, self.names[rel]

    def op_verify(self):
        rel, ino = self.pick()
        if not rel:
            return
        with open(self.p(rel), "rb") as f:
            got = f.read()
        if got != bytes(ino.data):
            self.bad("DATA MISMATCH %s: len %d want %d" %
                     (rel, len(got), len(ino.data)))
        st = os.stat(self.p(rel))
        if st.st_size != len(ino.data) or (st.st_mode & 0o7777) != ino.mode \
                or st.st_nlink != len(ino.names):
            self.bad("STAT MISMATCH %s: size %d/%d mode %o/%o nlink %d/%d" %
                     (rel, st.st_size, len(ino.data), st.st_mode & 0o7777,
                      ino.mode, st.st_nlink, len(ino.names)))

    def op_pwrite(self):
        rel, ino = self.pick()
        if not rel:
            return
        off = self.rng.randint(0, len(ino.data) + 100)
        chunk = self.rand_data(1, 8192)
        fd = os.open(self.p(rel), os.O_WRONLY)
        try:
            os.pwrite(fd, chunk, off)
        finally:
            os.close(fd)
        if off > len(ino.data):
            ino.data.extend(b"\0" * (off - len(ino.data)))
        ino.data[off:off + len(chunk)] = chunk

    def op_append(self):
        rel, ino = self.pick()
        if not rel:
            return
        chunk = self.rand_data(1, 4096)
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, chunk)
        finally:
            os.close(fd)
        ino.data.extend(chunk)

    def op_truncate(self):
        rel, ino = self.pick()
        if not rel:
            return
        n = self.rng.randint(0, len(ino.data) + 1000)
        os.truncate(self.p(rel), n)
        if n < len(ino.data):
            del ino.data[n:]
        else:
            ino.data.extend(b"\0" * (n - len(ino.data)))

    def op_rename(self):
        rel, ino = self.pick()
        if not rel:
            return
        # sometimes over an existing private file
        if self.rng.random() < 0.3 and len(self.names) > 1:
            dst = self.rng.choice([n for n in self.names if n != rel])
        else:
            dst = self.newname()
        if dst in self.names and self.names[dst] is ino:
            return  # rename between hard links of one file: a no-op
        os.rename(self.p(rel), self.p(dst))
        if dst in self.names:
            old = self.names.pop(dst)
            old.names.discard(dst)
        del self.names[rel]
        ino.names.discard(rel)
        ino.names.add(dst)
        self.names[dst] = ino

    def op_exchange(self):
        if len(self.names) < 2:
            return
        a, b = self.rng.sample(list(self.names), 2)
        ia, ib = self.names[a], self.names[b]
        renameat2(self.p(a), self.p(b), RENAME_EXCHANGE)
        self.names[a], self.names[b] = ib, ia
        if ia is not ib:
            ia.names.discard(a); ia.names.add(b)
            ib.names.discard(b); ib.names.add(a)

    def op_exchange_dirs(self):
        # swap two private dirs (with their contents) and back
        a, b = "a", "b"
        renameat2(self.p(a), self.p(b), RENAME_EXCHANGE)
        remap = {}
        for rel, ino in list(self.names.items()):
            top, rest = rel.split("/", 1)
            if top in (a, b):
                remap[rel] = ((b if top == a else a) + "/" + rest, ino)
        for rel in remap:
            del self.names[rel]
        for rel, (nrel, ino) in remap.items():
            ino.names.discard(rel)
        for rel, (nrel, ino) in remap.items():
            ino.names.add(nrel)
            self.names[nrel] = ino
        nx = set()
        for d in self.xdirs:
            top, rest = d.split("/", 1)
            if top in (a, b):
                d = (b if top == a else a) + "/" + rest
            nx.add(d)
        self.xdirs = nx
        # verify one moved file at once
        if remap:
            nrel, ino = self.rng.choice(list(remap.values()))
            with open(self.p(nrel), "rb") as f:
                if f.read() != bytes(ino.data):
                    self.bad("DATA MISMATCH after dir exchange %s" % nrel)

    def op_link(self):
        rel, ino = self.pick()
        if not rel:
            return
        dst = self.newname()
        os.link(self.p(rel), self.p(dst))
        ino.names.add(dst)
        self.names[dst] = ino

    def op_unlink(self):
        rel, ino = self.pick()
        if not rel or len(self.names) < 10:
            return
        os.unlink(self.p(rel))
        ino.names.discard(rel)
        del self.names[rel]

    def op_open_unlink_read(self):
        # read through an fd whose name is unlinked meanwhile
        rel, ino = self.pick()
        if not rel:
            return
        fd = os.open(self.p(rel), os.O_RDONLY)
        try:
            tmp = self.newname()
            os.link(self.p(rel), self.p(tmp))
            os.unlink(self.p(rel))
            st = os.fstat(fd)
            got = os.pread(fd, len(ino.data) + 10, 0)
            if got != bytes(ino.data) or st.st_size != len(ino.data):
                self.bad("DATA MISMATCH via fd after unlink %s" % rel)
            os.rename(self.p(tmp), self.p(rel))
        finally:
            os.close(fd)

    def op_dir(self):
        if self.xdirs and self.rng.random() < 0.5:
            d = self.rng.choice(list(self.xdirs))
            os.rmdir(self.p(d))
            self.xdirs.discard(d)
        else:
            self.seq += 1
            d = "%s/x%d" % (self.rng.choice(self.pdirs), self.seq)
            os.mkdir(self.p(d), 0o755)
            self.xdirs.add(d)
            st = os.stat(self.p(d))
            if not (st.st_mode & 0o170000 == 0o040000):
                self.bad("mkdir made no dir %s" % d)

    def op_chmod(self):
        rel, ino = self.pick()
        if not rel:
            return
        m = self.rng.choice([0o600, 0o640, 0o644, 0o660, 0o664, 0o666])
        os.chmod(self.p(rel), m)
        ino.mode = m
        st = os.stat(self.p(rel))
        if st.st_mode & 0o7777 != m:
            self.bad("CHMOD MISMATCH %s %o want %o" % (rel, st.st_mode, m))

    def op_xattr(self):
        rel, ino = self.pick()
        if not rel:
            return
        k = "user.k%d" % self.rng.randint(0, 3)
        if self.rng.random() < 0.7:
            v = self.rand_data(0, 200)
            os.setxattr(self.p(rel), k, v)
            ino.xattr[k] = v
        elif k in ino.xattr:
            os.removexattr(self.p(rel), k)
            del ino.xattr[k]
        for k2, v2 in ino.xattr.items():
            got = os.getxattr(self.p(rel), k2)
            if got != v2:
                self.bad("XATTR MISMATCH %s %s" % (rel, k2))
        got = set(x for x in os.listxattr(self.p(rel)) if x.startswith("user."))
        if got != set(ino.xattr):
            self.bad("LISTXATTR MISMATCH %s %s %s" % (rel, got, set(ino.xattr)))

    def op_scandir(self):
        d = self.rng.choice(self.pdirs)
        got = set()
        for e in os.scandir(self.p(d)):
            if e.is_file(follow_symlinks=False):
                got.add(d + "/" + e.name)
            e.stat(follow_symlinks=False)
        want = set(n for n in self.names if n.rsplit("/", 1)[0] == d)
        if got != want:
            self.bad("READDIR MISMATCH %s: extra %s missing %s" %
                     (d, sorted(got - want)[:5], sorted(want - got)[:5]))

    def op_statall(self):
        for rel, ino in list(self.names.items())[:30]:
            st = os.lstat(self.p(rel))
            if st.st_size != len(ino.data) or st.st_nlink != len(ino.names):
                self.bad("STAT MISMATCH %s size %d/%d nlink %d/%d" %
                         (rel, st.st_size, len(ino.data), st.st_nlink,
                          len(ino.names)))

    # ---------- shared ops (races tolerated, content self-checked)
    def sname(self):
        r = self.rng.random()
        if r < 0.6:
            return "s%d" % self.rng.randint(0, 15)
        return "D%d/s%d" % (self.rng.randint(0, 3), self.rng.randint(0, 7))

    def sp(self, rel):
        return os.path.join(self.shared, rel)

    def sh_publish(self):
        payload = self.rand_data(0, 20000)
        blob = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        self.seq += 1
        tmp = self.sp("tmp-%d-%d" % (self.wid, self.seq))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, blob)
        finally:
            os.close(fd)
        try:
            os.rename(tmp, self.sp(self.sname()))
        except OSError:
            os.unlink(tmp)
            raise

    def sh_read(self):
        with open(self.sp(self.sname()), "rb") as f:
            blob = f.read()
        h, _, payload = blob.partition(b"\n")
        if hashlib.sha256(payload).hexdigest().encode() != h:
            self.bad("SHARED CORRUPT len %d head %r" % (len(blob), blob[:70]))

    def sh_rename(self):
        a, b = self.sname(), self.sname()
        if a == b:
            return
        if self.rng.random() < 0.3:
            renameat2(self.sp(a), self.sp(b), RENAME_EXCHANGE)
        else:
            os.rename(self.sp(a), self.sp(b))

    def sh_link(self):
        os.link(self.sp(self.sname()), self.sp(self.sname()))

    def sh_unlink(self):
        os.unlink(self.sp(self.sname()))

    def sh_dir(self):
        d = self.sp("D%d" % self.rng.randint(0, 3))
        r = self.rng.random()
        if r < 0.4:
            os.mkdir(d)
        elif r < 0.7:
            os.rmdir(d)
        elif r < 0.85:
            renameat2(d, self.sp("D%d" % self.rng.randint(0, 3)),
                      RENAME_EXCHANGE)
        else:
            for e in os.scandir(d):
                if e.name.startswith("s"):
                    try:
                        os.unlink(e.path)
                    except OSError as ex:
                        if ex.errno != errno.ENOENT:
                            raise

    def sh_chmod(self):
        os.chmod(self.sp(self.sname()), self.rng.choice([0o644, 0o664, 0o666]))

    def sh_xattr(self):
        p = self.sp(self.sname())
        os.setxattr(p, "user.w", b"%d" % self.wid)
        os.getxattr(p, "user.w")

    def sh_scandir(self):
        d = self.shared if self.rng.random() < 0.5 else \
            self.sp("D%d" % self.rng.randint(0, 3))
        for e in os.scandir(d):
            try:
                e.stat(follow_symlinks=False)
            except OSError as ex:
                if ex.errno != errno.ENOENT:
                    raise

    def sh_stat(self):
        os.lstat(self.sp(self.sname()))

    # ----------
    def setup(self):
        os.makedirs(self.priv, exist_ok=True)
        for d in self.pdirs:
            os.makedirs(self.p(d), exist_ok=True)
        for _ in range(20):
            self.op_create()

    def run(self):
        priv_ops = [(self.op_create, 8), (self.op_verify, 10),
                    (self.op_pwrite, 5), (self.op_append, 3),
                    (self.op_truncate, 2), (self.op_rename, 6),
                    (self.op_exchange, 3), (self.op_exchange_dirs, 1),
                    (self.op_link, 3), (self.op_unlink, 6),
                    (self.op_open_unlink_read, 2), (self.op_dir, 3),
                    (self.op_chmod, 3), (self.op_xattr, 3),
                    (self.op_scandir, 3), (self.op_statall, 1)]
        sh_ops = [(self.sh_publish, 6), (self.sh_read, 8),
                  (self.sh_rename, 6), (self.sh_link, 2),
                  (self.sh_unlink, 3), (self.sh_dir, 3), (self.sh_chmod, 2),
                  (self.sh_xattr, 2), (self.sh_scandir, 3),
                  (self.sh_stat, 4)]
        pf = [f for f, w in priv_ops for _ in range(w)]
        sf = [f for f, w in sh_ops for _ in range(w)]
        self.setup()
        while time.time() < self.deadline:
            shared = self.rng.random() < 0.45
            f = self.rng.choice(sf if shared else pf)
            op = f.__name__
            self.count(op)
            try:
                f()
            except OSError as e:
                if shared and (e.errno in SHARED_OK or
                               (op == "sh_xattr" and e.errno == errno.ENODATA) or
                               (self.uid and
                                e.errno in NONROOT_OK.get(op, ()))):
                    self.tol(op, e)
                else:
                    self.bad("%s: %s %s" % (op, errno.errorcode.get(
                        e.errno, e.errno), e))
                    if e.errno in (errno.ENOTCONN, errno.ECONNABORTED):
                        break
            except Exception:
                self.bad("%s: %s" % (op, traceback.format_exc()[-400:]))
        # final full verification of the private tree
        try:
            for rel, ino in self.names.items():
                with open(self.p(rel), "rb") as f:
                    if f.read() != bytes(ino.data):
                        self.bad("FINAL DATA MISMATCH %s" % rel)
            for d in self.pdirs:
                self.op_scandir_d(d)
        except OSError as e:
            self.bad("final: %s" % e)

    def op_scandir_d(self, d):
        got = set(d + "/" + e.name for e in os.scandir(self.p(d))
                  if e.is_file(follow_symlinks=False))
        want = set(n for n in self.names if n.rsplit("/", 1)[0] == d)
        if got != want:
            self.bad("FINAL READDIR MISMATCH %s" % d)


def child(mnt, wid, deadline, uid, seed, q):
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.umask(0)
    w = Worker(mnt, wid, deadline, uid, seed)
    try:
        w.run()
    except Exception:
        w.bad("worker crashed: " + traceback.format_exc()[-600:])
    q.put({"wid": wid, "uid": uid, "nops": sum(w.ops.values()),
           "ops": w.ops, "tolerated": w.tolerated, "errors": w.errs,
           "files": len(w.names)})


def main():
    mnt, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    nonroot = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    # On an overlay, exchanging directories that have lower parts fails
    # with EXDEV, as on the kernel's overlayfs.
    if len(sys.argv) > 5 and sys.argv[5] == "overlay":
        SHARED_OK.add(errno.EXDEV)
    sh = os.path.join(mnt, "shared")
    os.makedirs(sh, exist_ok=True)
    os.chmod(mnt, 0o777)
    os.chmod(sh, 0o777)
    for i in range(4):
        try:
            os.mkdir(os.path.join(sh, "D%d" % i))
            os.chmod(os.path.join(sh, "D%d" % i), 0o777)
        except FileExistsError:
            pass
    # The same seed gives every worker the same choices again (timing
    # still differs): VN_SEED=N reruns a failed run's mix.
    seed = int(os.environ.get("VN_SEED") or time.time())
    print("seed", seed, flush=True)
    deadline = time.time() + secs
    q = mp.Queue()
    procs = []
    for i in range(n):
        uid = 3000 + i if i >= n - nonroot else 0
        pr = mp.Process(target=child, args=(mnt, i, deadline, uid, seed, q))
        pr.start()
        procs.append(pr)
    res = [q.get(timeout=secs + 300) for _ in procs]
    for pr in procs:
        pr.join()
    res.sort(key=lambda r: r["wid"])
    bad = 0
    tot = 0
    tol = {}
    for r in res:
        tot += r["nops"]
        for k, v in r["tolerated"].items():
            tol[k] = tol.get(k, 0) + v
        if r["errors"]:
            bad += 1
            print("worker %d (uid %d): %d unexpected" % (r["wid"], r["uid"],
                  len(r["errors"])))
            for e in r["errors"][:10]:
                print("   ", e)
    print("total ops %d, workers with errors %d" % (tot, bad))
    print("tolerated:", json.dumps(dict(sorted(tol.items()))))
    print("per-worker ops:", [r["nops"] for r in res])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
PYEOF
}

setup() {
	vn_setup
}

teardown() {
	vn_teardown
}

# mount_wrapped CMD... -- [daemon args...]: mount with the daemon run
# through CMD (which must exec it, so that VN_PID is the daemon's pid).
mount_wrapped() {
	local wrapper=$WORK/veneerfs-wrapped
	printf '#!/bin/sh\nexec %s -- "%s" "$@"\n' "$1" "$VENEERFS" >"$wrapper"
	chmod 755 "$wrapper"
	shift
	VENEERFS=$wrapper vn_mount -o allow_other "$@"
}

# stress_and_check SECS [DIR [overlay]]: run the workers, then check that
# the mount answers, that every private tree is the same through the
# mount and in DIR (default SOURCE), and that the daemon exits 0 and said
# nothing. "overlay" tells the workers that EXDEV is expected.
stress_and_check() {
	local ref=${2:-$SRC} m s
	run timeout $(($1 + 120)) python3 "$STRESS" "$MNT" 16 "$1" 4 ${3:-}
	echo "$output"
	[ "$status" -eq 0 ]
	timeout 20 ls "$MNT/shared" >/dev/null
	m=$(cd "$MNT" && timeout 60 find p* -printf '%P %y %s %n\n' | sort)
	s=$(cd "$ref" && find p* -printf '%P %y %s %n\n' | sort)
	[ "$m" = "$s" ]
	vn_unmount
	if [ -s "$WORK/daemon.log" ]; then
		head -50 "$WORK/daemon.log" >&2
		return 1
	fi
}

@test "16 concurrent workers, fd cache under pressure (file handles)" {
	command -v prlimit >/dev/null || vn_skip "needs prlimit"
	mount_wrapped "prlimit --nofile=512:512"
	stress_and_check $SECS
}

@test "16 concurrent workers, fd cache under pressure, no file handles" {
	command -v prlimit >/dev/null || vn_skip "needs prlimit"
	command -v setpriv >/dev/null || vn_skip "needs setpriv"
	mount_wrapped "prlimit --nofile=512:512 setpriv --bounding-set=-dac_read_search"
	stress_and_check $SECS
}

@test "16 concurrent workers, single-threaded daemon (-s)" {
	vn_mount -o allow_other -s
	stress_and_check 4
}

@test "16 concurrent workers on an overlay, shared files in lower layers" {
	local l1=$WORK/l1 l2=$WORK/l2 up=$WORK/u wk=$WORK/w d
	for d in "$l1" "$l2"; do
		mkdir -p "$d/shared/D0" "$d/shared/D1" "$d/shared/D2" \
			"$d/shared/D3"
		chmod -R 777 "$d/shared"
	done
	mkdir -p "$up" "$wk"
	# Published files in the workers' own format, for copy-ups and
	# whiteouts under load; some hidden by whiteouts from the start.
	python3 - "$l1/shared" "$l2/shared" <<'PYEOF'
import hashlib, os, sys
for top, base in ((sys.argv[1], 0), (sys.argv[2], 8)):
    for i in range(base, base + 8):
        for rel in ("s%d" % i, "D%d/s%d" % (i % 4, i % 8)):
            data = os.urandom(1000 + 100 * i)
            path = os.path.join(top, rel)
            with open(path, "wb") as f:
                f.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
            os.chmod(path, 0o666)
PYEOF
	mknod "$l1/shared/s9" c 0 0
	"$VENEERFS" -f -o "allow_other,lowerdir=$l1:$l2,upperdir=$up,workdir=$wk" \
		"$MNT" 2>"$WORK/daemon.log" &
	VN_PID=$!
	vn_wait_mount "$MNT"
	# The private trees are upper-only: compared with the upper layer.
	stress_and_check "$SECS" "$up" overlay
}
