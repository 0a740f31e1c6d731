#!/usr/bin/env python3
"""File I/O patterns for kernel_passthrough.bats: each writes and reads a
file through the mount and checks what it reads against what it wrote
(a model kept in memory); it prints "ok" and writes the model to MODEL, for
the test to compare with the real file, or exits non-zero with the first
difference.

    pt_io.py random FILE MODEL      random pwrite/pread over 8 MiB
    pt_io.py append FILE MODEL      two O_APPEND handles, interleaved
    pt_io.py direct FILE MODEL      O_DIRECT writes and reads, aligned
    pt_io.py mmap FILE MODEL        a shared mapping written, then read
    pt_io.py truncate FILE MODEL    shrink, extend, read the zeros
    pt_io.py handles FILE MODEL     a writer and a reader handle at once
    pt_io.py parallel DIR N         N threads, each with a handle open at
                                    the same time on one of DIR's files
"""
import mmap
import os
import random
import sys
import threading

MIB = 1 << 20


def die(msg):
    sys.exit("pt_io: " + msg)


def expect(what, got, want):
    if got != want:
        die("%s: got %r..., want %r... (%d and %d bytes)"
            % (what, bytes(got[:16]), bytes(want[:16]), len(got), len(want)))


def read_all(fd, size):
    out = bytearray()
    while len(out) < size:
        b = os.pread(fd, size - len(out), len(out))
        if not b:
            break
        out += b
    return bytes(out)


def random_io(path, model):
    rng = random.Random(7)
    size = 8 * MIB
    data = bytearray(size)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, size)
    for i in range(3000):
        off = rng.randrange(size - 65536)
        n = rng.choice((1, 512, 4096, 4097, 65536))
        chunk = rng.randbytes(n)
        if os.pwrite(fd, chunk, off) != n:
            die("short pwrite")
        data[off:off + n] = chunk
        if i % 7 == 0:
            off = rng.randrange(size - 65536)
            expect("pread at %d" % off, os.pread(fd, n, off),
                   bytes(data[off:off + n]))
    expect("whole file", read_all(fd, size), bytes(data))
    os.close(fd)
    return data


def append(path, model):
    a = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    b = os.open(path, os.O_WRONLY | os.O_APPEND)
    data = bytearray()
    for i in range(3000):
        line = b"line %d from %s: %s\n" % (i, b"ab"[i % 2:i % 2 + 1],
                                          b"." * (i % 200))
        os.write(a if i % 2 == 0 else b, line)
        data += line
    os.close(a)
    os.close(b)
    fd = os.open(path, os.O_RDONLY)
    expect("appended file", read_all(fd, len(data) + 1), bytes(data))
    os.close(fd)
    return data


def direct(path, model):
    size = 4 * MIB
    buf = mmap.mmap(-1, size)  # page-aligned, as O_DIRECT needs
    buf.write(random.Random(3).randbytes(size))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT,
                 0o644)
    for off in range(0, size, MIB):
        if os.pwritev(fd, [memoryview(buf)[off:off + MIB]], off) != MIB:
            die("short O_DIRECT write")
    back = mmap.mmap(-1, size)
    for off in range(0, size, MIB):
        if os.preadv(fd, [memoryview(back)[off:off + MIB]], off) != MIB:
            die("short O_DIRECT read")
    expect("O_DIRECT read", back[:], buf[:])
    os.close(fd)
    return buf[:]


def map_io(path, model):
    size = 2 * MIB
    rng = random.Random(5)
    data = bytearray(rng.randbytes(size))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    for i in range(500):
        off = rng.randrange(size - 100)
        chunk = rng.randbytes(100)
        m[off:off + 100] = chunk
        data[off:off + 100] = chunk
    m.flush()
    expect("mapping", m[:], bytes(data))
    m.close()
    expect("read after the mapping", read_all(fd, size + 1), bytes(data))
    os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    expect("read-only mapping", m[:], bytes(data))
    m.close()
    os.close(fd)
    return data


def truncate(path, model):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    data = bytearray(random.Random(9).randbytes(MIB))
    os.write(fd, data)
    os.ftruncate(fd, 1000)
    del data[1000:]
    expect("after shrinking", read_all(fd, MIB), bytes(data))
    if os.fstat(fd).st_size != 1000:
        die("size after shrinking: %d" % os.fstat(fd).st_size)
    os.ftruncate(fd, 700000)
    data += bytes(700000 - 1000)
    expect("after extending", read_all(fd, MIB), bytes(data))
    os.pwrite(fd, b"end", 699997)
    data[699997:] = b"end"
    os.close(fd)
    os.truncate(path, 400000)
    del data[400000:]
    fd = os.open(path, os.O_RDONLY)
    expect("after truncate(2)", read_all(fd, MIB), bytes(data))
    os.close(fd)
    return data


def handles(path, model):
    w = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    r = os.open(path, os.O_RDONLY)
    data = bytearray()
    rng = random.Random(11)
    for i in range(64):
        chunk = rng.randbytes(65536)
        os.write(w, chunk)
        data += chunk
        expect("reader after write %d" % i, read_all(r, len(data) + 1),
               bytes(data))
        if os.fstat(r).st_size != len(data):
            die("reader's size %d, not %d" % (os.fstat(r).st_size, len(data)))
    os.pwrite(w, b"X" * 100, 1000)
    data[1000:1100] = b"X" * 100
    expect("reader after overwrite", os.pread(r, 200, 950),
           bytes(data[950:1150]))
    os.close(w)
    os.close(r)
    return data


def parallel(d, n):
    names = sorted(os.listdir(d))
    contents = {}
    for name in names:
        with open(os.path.join(d, name), "rb") as f:
            contents[name] = f.read()
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        name = names[i % len(names)]
        p = os.path.join(d, name)
        try:
            if i % 4 == 3:
                fd = os.open(p, os.O_RDWR)
            else:
                fd = os.open(p, os.O_RDONLY)
            barrier.wait()  # all n handles open at once
            got = read_all(fd, len(contents[name]) + 1)
            if got != contents[name]:
                errors.append("%s: thread %d read other data" % (name, i))
            barrier.wait()
            os.close(fd)
        except Exception as e:  # report every failure, then fail
            errors.append("thread %d: %r" % (i, e))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        die("; ".join(errors[:5]))


def main():
    cmd = sys.argv[1]
    if cmd == "parallel":
        parallel(sys.argv[2], int(sys.argv[3]))
        print("ok")
        return
    fn = {"random": random_io, "append": append, "direct": direct,
          "mmap": map_io, "truncate": truncate, "handles": handles}[cmd]
    data = fn(sys.argv[2], sys.argv[3])
    with open(sys.argv[3], "wb") as f:
        f.write(data)
    print("ok")


main()
