#!/usr/bin/env python3
"""Write the seed inputs of tests/fuzz/corpus (see fuzz_wire.c for the
format). Each seed is a plausible session: look names up, open, read,
write, make and remove things, so that the fuzzer starts from requests that
get past the first checks. Run from anywhere: make-seeds.py OUTDIR."""
import os
import struct
import sys

OPS = ["LOOKUP", "FORGET", "GETATTR", "SETATTR", "READLINK", "SYMLINK",
       "MKNOD", "MKDIR", "UNLINK", "RMDIR", "RENAME", "LINK", "OPEN", "READ",
       "WRITE", "STATFS", "RELEASE", "FSYNC", "SETXATTR", "GETXATTR",
       "LISTXATTR", "REMOVEXATTR", "FLUSH", "OPENDIR", "READDIR",
       "RELEASEDIR", "FSYNCDIR", "GETLK", "SETLK", "SETLKW", "ACCESS",
       "CREATE", "INTERRUPT", "BMAP", "IOCTL", "POLL", "BATCH_FORGET",
       "FALLOCATE", "READDIRPLUS", "RENAME2", "LSEEK", "COPY_FILE_RANGE",
       "UNKNOWN"]
NAMES = ["a", "b", "d", "sub", "f", "link", "abs", "up", "new", "x", "fifo",
         "lowonly", "deleted", "opq", "hl", "hl2", ".", "..", "", "d/f",
         "../outside/made", "../../escape", ".wh.a", ".wh..wh..opq",
         "/etc/passwd", "canary", "user.k", "trusted.overlay.opaque",
         "user.overlay.opaque", "system.posix_acl_access",
         "trusted.overlay.vn.ino", "security.fuseoverlayfs.override_stat",
         "gone", "n255", "n256"]
ROOT = 0


def node(i):
    """The i-th nodeid the daemon handed out in this input."""
    return 3 + i


def rec(op, nd=ROOT, fh=0, cred=0, n1="a", n2="a", arg=b"", data=b""):
    return bytes([OPS.index(op), nd, fh, cred, NAMES.index(n1),
                  NAMES.index(n2), len(arg)]) + arg + bytes([len(data)]) + data


def seeds():
    rw = os.O_RDWR
    s = {}
    # Passthrough: files.
    s["files"] = [
        rec("LOOKUP", n1="a"),
        rec("OPEN", nd=node(0), arg=struct.pack("<II", rw, 0)),
        rec("READ", arg=struct.pack("<QQIIQII", 0, 0, 100, 0, 0, rw, 0)),
        rec("WRITE", arg=struct.pack("<QQIIQII", 0, 3, 0, 0, 0, rw, 0),
            data=b"written"),
        rec("FSYNC", arg=struct.pack("<QII", 0, 0, 0)),
        rec("FALLOCATE", arg=struct.pack("<QQQII", 0, 0, 4096, 0, 0)),
        rec("LSEEK", arg=struct.pack("<QQII", 0, 0, 3, 0)),
        rec("FLUSH", arg=struct.pack("<QIIQ", 0, 0, 0, 0)),
        rec("RELEASE", arg=struct.pack("<QIIQ", 0, rw, 0, 0)),
        rec("CREATE", n1="new",
            arg=struct.pack("<IIII", os.O_CREAT | rw, 0o100644, 0o22, 0)),
        rec("WRITE", arg=struct.pack("<QQIIQII", 0, 0, 0, 0, 0, rw, 0),
            data=b"x" * 200),
        rec("COPY_FILE_RANGE",
            arg=struct.pack("<QQQQQQQ", 0, 0, 0, 0, 100, 50, 0)),
        rec("SETATTR", nd=node(1),
            arg=struct.pack("<IIQQQQQQIIIIIIIII", 1 << 3, 0, 0, 10,
                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
        rec("GETATTR", nd=node(1)),
    ]
    # Passthrough: names.
    s["names"] = [
        rec("MKDIR", n1="sub", arg=struct.pack("<II", 0o755, 0o22)),
        rec("SYMLINK", nd=node(0), n1="link", n2="x"),
        rec("MKNOD", nd=node(0), n1="f",
            arg=struct.pack("<IIII", 0o100600, 0, 0, 0)),
        rec("LINK", nd=node(0), n1="hl2", arg=struct.pack("<Q", node(2))),
        rec("RENAME", n1="a", n2="b", arg=struct.pack("<Q", 1)),
        rec("RENAME2", n1="b", n2="hl",
            arg=struct.pack("<QII", 1, 2, 0)),
        rec("LOOKUP", n1="link"),
        rec("READLINK", nd=node(3)),
        rec("UNLINK", n1="hl"),
        rec("OPENDIR", arg=struct.pack("<II", 0, 0)),
        rec("READDIRPLUS", arg=struct.pack("<QQIIQII", 0, 0, 4096, 0, 0, 0, 0)),
        rec("READDIR", arg=struct.pack("<QQIIQII", 0, 2, 4096, 0, 0, 0, 0)),
        rec("RELEASEDIR", arg=struct.pack("<QIIQ", 0, 0, 0, 0)),
        rec("RMDIR", n1="sub"),
        rec("FORGET", nd=node(0), arg=struct.pack("<Q", 1)),
        rec("STATFS"),
        rec("ACCESS", nd=node(1), arg=struct.pack("<II", 4, 0)),
    ]
    # Extended attributes and callers other than root.
    s["xattr"] = [
        rec("LOOKUP", n1="d"),
        rec("SETXATTR", nd=node(0), n1="user.k", arg=struct.pack("<II", 0, 0),
            data=b"value"),
        rec("LISTXATTR", nd=node(0), arg=struct.pack("<II", 256, 0)),
        rec("GETXATTR", nd=node(0), n1="user.k", arg=struct.pack("<II", 256, 0)),
        rec("REMOVEXATTR", nd=node(0), n1="user.k"),
        rec("CREATE", nd=node(0), cred=0x5, n1="x",
            arg=struct.pack("<IIII", os.O_CREAT | rw, 0o100600, 0o22, 0)),
        rec("SETLK", arg=struct.pack("<QQQQIIII", 0, 0, 0, 0, 1, 0, 1, 0)),
        rec("BATCH_FORGET", arg=struct.pack("<II", 0, 0),
            data=struct.pack("<QQ", node(0), 1)),
    ]
    # Replies the kernel refuses (cred bit 0x20: it gave up on the
    # request): what each would have handed out, a lookup count or an
    # open handle, must be taken back, or the node table is not empty at
    # the end.
    refused = 0x20
    s["refused"] = [
        rec("LOOKUP", n1="a", cred=refused),
        rec("LOOKUP", n1="a"),
        rec("OPEN", nd=node(0), cred=refused, arg=struct.pack("<II", rw, 0)),
        rec("CREATE", n1="new", cred=refused,
            arg=struct.pack("<IIII", os.O_CREAT | rw, 0o100644, 0o22, 0)),
        rec("MKDIR", n1="sub", cred=refused,
            arg=struct.pack("<II", 0o755, 0o22)),
        rec("SYMLINK", n1="x", n2="a", cred=refused),
        rec("LINK", n1="hl2", cred=refused, arg=struct.pack("<Q", node(0))),
        rec("OPENDIR", arg=struct.pack("<II", 0, 0)),
        rec("READDIRPLUS", cred=refused,
            arg=struct.pack("<QQIIQII", 0, 0, 4096, 0, 0, 0, 0)),
        rec("RELEASEDIR", arg=struct.pack("<QIIQ", 0, 0, 0, 0)),
        rec("OPENDIR", cred=refused, arg=struct.pack("<II", 0, 0)),
    ]
    return s


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    # Byte 0: 0 passthrough, 1 writeback, 2 overlay, 3 read-only overlay,
    # 6 overlay with .wh. files, 58 overlay with id maps,
    # xattr_permissions=2 and volatile.
    for mode in (0, 1, 2, 3, 6, 2 | 8 | 16 | 32):
        for name, recs in seeds().items():
            with open(os.path.join(out, "seed-%s-%d" % (name, mode)),
                      "wb") as f:
                f.write(bytes([mode]) + b"".join(recs))


main()
