#!/usr/bin/env bats
# Copy-up: the first change to an object of a lower layer copies it (and
# its parent directories) to the upper layer with its data, holes, mode,
# owner, times and xattrs, then applies the change. Checked on the mounts
# (veneerfs against the kernel's overlayfs) and on disk, by comparing what
# each side wrote to its upper layer.

load helpers
load overlay

teardown() {
	# A lower daemon a test stopped must run again to be unmounted.
	[ -z "${OV_LPID:-}" ] || kill -CONT "$OV_LPID" 2>/dev/null || true
	[ -z "${OV_OPID:-}" ] || kill "$OV_OPID" 2>/dev/null || true
	[ -z "${OV_LPID:-}" ] || kill "$OV_LPID" 2>/dev/null || true
	ov_teardown
}

# A lower file with everything copy-up must keep.
make_lower_file() {
	printf 'line one\nline two\n' >"$L1/f"
	chmod 0640 "$L1/f"
	chown 123:456 "$L1/f"
	setfattr -n user.a -v alpha "$L1/f"
	setfattr -n user.b -v beta "$L1/f"
	touch -d '2001-02-03 04:05:06.123456789' "$L1/f"
	echo other >"$L2/other"
}

# On both sides: the tree on the mount, then (unmounted) the upper layers.
@test "copy-up: reading, stat, getxattr and listing copy nothing up" {
	make_lower_file
	mkdir -p "$L2/d/e"
	echo x >"$L2/d/e/g"
	ov_mount_both
	ov_ok sh -c 'cat f d/e/g >/dev/null && stat f d d/e >/dev/null &&
		getfattr -d f d >/dev/null && ls -lR >/dev/null &&
		"$0" open f O_RDONLY : read %0 0 100 : fstat %0 size' "$VNOP"
	ov_is "$ov_out" "$(printf '0\n18\n18')"
	ov_expect 0 access f W_OK
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
	ov_is "$ov_out" ". dir 0755 0:0 n2"
}

@test "copy-up: open for writing copies up, even with nothing written" {
	make_lower_file
	cp -a "$L1/f" "$L1/g"
	ov_mount_both
	ov_expect "$(printf '0\n0')" open f O_WRONLY : close %0
	ov_expect "$(printf '0\n4')" open g O_RDWR,O_APPEND : write %0 0 more
	ov_diff stat -c '%a %u %g %s %.9Y' f
	ov_is "$ov_out" "640 123 456 18 981173106.123456789"
	ov_diff cat g
	ov_is "$ov_out" "$(printf 'line one\nline two\nmore')"
	ov_compare_all
	ov_is "$(ov_tree --upper "$VU" | grep -c ' reg 0640 123:456 ')" 2
}

@test "copy-up: truncate and O_TRUNC" {
	make_lower_file
	cp -a "$L1/f" "$L1/g"
	cp -a "$L1/f" "$L1/h"
	ov_mount_both
	ov_expect 0 truncate f 4
	ov_expect "$(printf '0\n0')" open g O_WRONLY,O_TRUNC : fstat %0 size
	ov_expect 0 truncate h 100000
	ov_diff ov_datamap f g h
	ov_diff cat f
	ov_is "$ov_out" line
	ov_compare_all
}

@test "copy-up: chmod keeps data, owner, xattrs and the mtime" {
	make_lower_file
	mkdir "$L2/dir"
	chown 3:4 "$L2/dir"
	touch -d '2002-01-01 00:00:00.5' "$L2/dir"
	ov_mount_both
	ov_ok chmod 0604 f
	ov_ok chmod 0700 dir
	ov_diff stat -c '%n %a %u %g %.9Y' f dir
	ov_is "$ov_out" "$(printf 'f 604 123 456 981173106.123456789\ndir 700 3 4 1009843200.500000000')"
	ov_diff getfattr -d f
	ov_compare_all
}

@test "copy-up: chown and chgrp, of files, dirs and symlinks" {
	make_lower_file
	mkdir -p "$L2/dir/sub"
	echo x >"$L2/dir/sub/inner"
	ln -s f "$L2/link"
	mkfifo "$L3/fifo"
	ov_mount_both
	ov_ok chown 7:8 f
	ov_ok chgrp 9 dir
	ov_ok chown -h 10:11 link
	ov_ok chown 12 fifo
	ov_diff stat -c '%n %u %g %a' f dir link fifo dir/sub
	ov_is "$ov_out" "$(printf 'f 7 8 640\ndir 0 9 755\nlink 10 11 777\nfifo 12 0 644\ndir/sub 0 0 755')"
	ov_compare_all
	# only the dir itself went up, not what is in it
	[ ! -e "$VU/dir/sub" ]
}

@test "copy-up: utimens, explicit and UTIME_OMIT" {
	make_lower_file
	cp -a "$L1/f" "$L1/g"
	mkdir "$L3/dir"
	ov_mount_both
	ov_ok touch -m -d '2010-01-02 03:04:05.25' f
	ov_expect 0 utimensat g 1000000000.5 OMIT
	ov_expect 0 utimensat dir OMIT 1234567890.75
	ov_diff stat -c '%n %.9X %.9Y' f g dir
	ov_is "$(printf '%s\n' "$ov_out" | cut -d' ' -f1,3)" "$(printf 'f 1262401445.250000000\ng 981173106.123456789\ndir 1234567890.750000000')"
	ov_is "$(printf '%s\n' "$ov_out" | sed -n 2p | cut -d' ' -f2)" \
		1000000000.500000000
	ov_compare_all
}

@test "copy-up: setxattr and removexattr keep the other xattrs" {
	make_lower_file
	cp -a "$L1/f" "$L1/g"
	mkdir "$L2/dir"
	setfattr -n user.d -v dir "$L2/dir"
	ov_mount_both
	ov_ok setfattr -n user.c -v gamma f
	ov_ok setfattr -x user.a g
	ov_ok setfattr -n user.d -v changed dir
	ov_diff getfattr -d f g dir
	ov_is "$ov_out" "$(printf '%s\n' '# file: f' 'user.a="alpha"' \
		'user.b="beta"' 'user.c="gamma"' '' '# file: g' 'user.b="beta"' \
		'' '# file: dir' 'user.d="changed"')"
	ov_expect 981173106.123456789 stat f mtime
	ov_compare_all
}

@test "copy-up: trusted.*, security.* and ACLs come up as on the kernel's" {
	local f
	for f in a b c d; do
		echo "$f" >"$L1/$f"
		setfattr -n trusted.mine -v "t-$f" "$L1/$f"
		setfattr -n security.capability \
			-v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "$L1/$f"
		setfacl -m u:65534:rw,g:4242:r "$L1/$f"
	done
	mkdir "$L1/dir"
	setfattr -n trusted.mine -v dir "$L1/dir"
	setfacl -d -m u:65534:rwx "$L1/dir"
	ln -s a "$L1/link"
	setfattr -h -n trusted.mine -v link "$L1/link"
	ov_mount_both
	ov_ok sh -c 'echo more >>a && chmod 640 b && touch c &&
		setfattr -n user.new -v 1 d && chmod 700 dir &&
		chown -h 5:5 link'
	ov_diff getfattr -d -m - --absolute-names a b c d dir
	ov_diff getfacl -p a dir
	ov_compare_all
	# On disk too the copies carry them all.
	ov_is "$(getfattr --only-values -n trusted.mine "$VU/c")" t-c
	[ -n "$(getfattr -e hex --only-values -n security.capability "$VU/c")" ]
	[[ $(getfacl -pn "$VU/dir") == *"default:user:65534:rwx"* ]]
}

@test "copy-up: fallocate and a sparse file keep their holes" {
	# data at [0, 1 MiB) and [8 MiB, 9 MiB) of 16 MiB
	dd if=/dev/urandom of="$L1/sparse" bs=1M count=1 status=none
	dd if=/dev/urandom of="$L1/sparse" bs=1M count=1 seek=8 \
		conv=notrunc status=none
	truncate -s 16M "$L1/sparse"
	cp -a "$L1/sparse" "$L1/falloc"
	cp -a "$L1/sparse" "$L1/punch"
	local lower
	lower=$(ov_datamap "$L1/sparse")
	ov_is "${lower#* }" "size 16777216 data 0-1048576 8388608-9437184"
	ov_mount_both
	ov_expect 1 write sparse 16777216 x
	ov_expect 0 fallocate falloc KEEP_SIZE 12582912 4096
	ov_expect 0 fallocate punch PUNCH_HOLE,KEEP_SIZE 0 4096
	ov_diff ov_datamap sparse falloc punch
	ov_is "$(printf '%s\n' "$ov_out" | head -n 1)" \
		"sparse size 16777217 data 0-1048576 8388608-9437184 16777216-16777217"
	ov_diff stat -c '%n %s' sparse falloc punch
	# at most the 2 MiB of data and a little more is allocated
	[ "$(stat -c %b "$VM/sparse")" -lt 4200 ]
	[ "$(stat -c %b "$KM/sparse")" -lt 4200 ]
	ov_compare_all
}

@test "copy-up: a large file keeps its content" {
	dd if=/dev/urandom of="$L2/big" bs=1M count=24 status=none
	ov_mount_both
	ov_expect 4 write big 100 abcd
	ov_compare_all
}

@test "copy-up: parent directories come up with their own mode, owner, xattrs and times" {
	mkdir -p "$L1/a/b/c"
	echo data >"$L1/a/b/c/f"
	chmod 0711 "$L1/a"
	chown 11:0 "$L1/a"
	chmod 2750 "$L1/a/b"
	chown 12:13 "$L1/a/b"
	setfattr -n user.dir -v b "$L1/a/b"
	chmod 0700 "$L1/a/b/c"
	touch -d '2003-03-03 03:03:03.3' "$L1/a/b/c" "$L1/a/b" "$L1/a"
	mkdir -p "$L2/a/b/c"
	echo l2 >"$L2/a/b/c/g"
	ov_mount_both
	ov_ok sh -c 'echo more >>a/b/c/f'
	ov_diff stat -c '%n %a %u %g %.9Y' a a/b a/b/c
	ov_is "$ov_out" "$(printf '%s\n' 'a 711 11 0 1046660583.300000000' \
		'a/b 2750 12 13 1046660583.300000000' \
		'a/b/c 700 0 0 1046660583.300000000')"
	ov_compare_all
	ov_is "$(stat -c '%a %u %g' "$VU/a" "$VU/a/b" "$VU/a/b/c")" \
		"$(printf '711 11 0\n2750 12 13\n700 0 0')"
	[ "$(getfattr --only-values -n user.dir "$VU/a/b")" = b ]
	# the copied-up parents stay merged with the lower dirs
	ov_mount_again
	ov_diff ls a/b/c
	ov_is "$ov_out" "$(printf 'f\ng')"
}

@test "copy-up: special files and symlinks" {
	mkfifo "$L1/fifo"
	mknod "$L1/chr" c 1 3
	mknod "$L1/blk" b 7 0
	"$VNOP" mknod "$L1/sock" sock 0640 >/dev/null
	ln -s /some/where "$L1/abs"
	ln -s ../rel "$L1/rel"
	ov_mount_both
	ov_ok chmod 0600 fifo chr blk sock
	ov_ok chown -h 5:6 abs rel
	ov_diff stat -c '%n %F %a %u %g %t:%T' fifo chr blk sock abs rel
	ov_expect /some/where readlink abs
	ov_compare_all
}

@test "copy-up: a failed change copies nothing up" {
	make_lower_file
	chmod 0644 "$L1/f"
	chown 0:0 "$L1/f"
	mkdir "$L2/dir"
	ov_mount_both
	ov_diff as_nobody "$VNOP" chmod f 0666
	ov_is "$ov_out" EPERM
	ov_diff as_nobody "$VNOP" chown f 65534 65534
	ov_is "$ov_out" EPERM
	ov_diff as_nobody "$VNOP" open f O_WRONLY
	ov_is "$ov_out" EACCES
	ov_diff as_nobody "$VNOP" truncate f 0
	ov_is "$ov_out" EACCES
	ov_diff as_nobody "$VNOP" utimensat f 1 1
	ov_is "$ov_out" EPERM
	ov_diff as_nobody "$VNOP" setxattr f user.x y
	ov_is "$ov_out" EACCES
	ov_diff as_nobody "$VNOP" mkdir dir/sub 0755
	ov_is "$ov_out" EACCES
	ov_expect ENOENT chmod missing 0644
	ov_compare_all
	ov_is "$ov_out" ". dir 0755 0:0 n2"
}

@test "copy-up: a change that fails its own checks copies no parent up" {
	mkdir -p "$L1/a/full/deeper" "$L1/a/dir" "$L1/c/full" "$L1/c/dir"
	echo x >"$L1/a/full/x"
	echo y >"$L1/c/full/y"
	echo f >"$L1/a/f"
	echo g >"$L1/c/g"
	mkdir "$U/updir"
	ov_mount_both
	ov_expect ENOTEMPTY rmdir a/full
	ov_expect ENOTDIR rmdir a/f
	ov_expect EISDIR unlink a/dir
	ov_expect EXDEV rename a/dir c/moved
	ov_expect EXDEV rename a/full c/full
	ov_expect EINVAL renameat2 a/f c/new WHITEOUT
	ov_expect ENOTEMPTY rename updir c/full
	ov_expect EXDEV renameat2 updir c/dir EXCHANGE
	ov_compare_all
	# The upper layer holds what it held before, and nothing else.
	ov_is "$ov_out" "$(printf '. dir 0755 0:0 n3\n./updir dir 0755 0:0 n2')"
}

@test "copy-up: st_ino stays the same, and unique" {
	make_lower_file
	mkdir -p "$L2/dir/sub"
	ln -s f "$L3/link"
	mkfifo "$L3/fifo"
	ov_mount_both
	local m before after
	for m in "$VM" "$KM"; do
		before=$(cd "$m" && stat -c '%n %i' f dir dir/sub link fifo other)
		(cd "$m" && echo x >>f && chmod 700 dir dir/sub &&
			chown -h 1:1 link fifo && setfattr -n user.x -v 1 other)
		after=$(cd "$m" && stat -c '%n %i' f dir dir/sub link fifo other)
		ov_is "$after" "$before"
	done
	ov_diff sh -c 'find . -printf "%D:%i\n" | sort | uniq -d'
	ov_is "$ov_out" ""
}

# With -o nopassthrough, as on the kernel's overlayfs, a descriptor opened
# before the copy-up follows the file to its copy; with passthrough (the
# default) it stays on the lower file: see the next tests.
@test "copy-up: nopassthrough: a descriptor opened before the copy-up reads the new data" {
	echo old >"$L1/f"
	ov_mount_both --vo nopassthrough
	ov_diff "$OV_PY" -c '
import os
ro = os.open("f", os.O_RDONLY)
before = os.fstat(ro).st_ino
wr = os.open("f", os.O_WRONLY | os.O_TRUNC)
os.write(wr, b"new\n")
os.close(wr)
print(os.pread(ro, 100, 0), os.fstat(ro).st_size, os.fstat(ro).st_ino == before)'
	ov_is "$ov_out" "b'new\\n' 4 True"
}

@test "copy-up: nopassthrough: a read-only descriptor opened before the copy-up seeks and locks the copy" {
	head -c 1048576 /dev/urandom >"$L1/f"
	ov_mount_both --vo nopassthrough
	ov_diff python3 -c '
import errno, fcntl, os
a = os.open("f", os.O_RDONLY)          # on the lower file
fcntl.flock(a, fcntl.LOCK_SH)
b = os.open("f", os.O_WRONLY | os.O_TRUNC)   # copies up, without data
os.pwrite(b, b"x" * 4096, 512 << 10)   # data after a hole
print("data at", os.lseek(a, 0, os.SEEK_DATA))
print("hole at", os.lseek(a, 512 << 10, os.SEEK_HOLE))
try:
    fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("exclusive lock taken beside a shared one")
except OSError as e:
    print("exclusive lock:", errno.errorcode[e.errno])
fcntl.flock(a, fcntl.LOCK_UN)
fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("then taken")'
	ov_is "$ov_out" "$(printf '%s\n' 'data at 524288' 'hole at 528384' \
		'exclusive lock: EAGAIN' 'then taken')"
}

# With passthrough (the default) the kernel reads a lower file opened for
# reading from the lower file itself, and cannot switch an inode that has
# such opens to another file: a write open copies the file up under a new
# node (the kernel looks the name up again), and the opens made before it
# go on reading the lower file. Everything else is as on the kernel's
# overlayfs.
@test "copy-up: passthrough: a write open beside readers of a lower file" {
	head -c 1048576 /dev/urandom >"$L1/f"
	ov_mount_both
	ov_diff "$OV_PY" -c '
import os
readers = [os.open("f", os.O_RDONLY) for i in range(3)]
ino = os.fstat(readers[0]).st_ino
w = os.open("f", os.O_RDWR)
os.pwrite(w, b"new", 0)
print("writer", os.pread(w, 3, 0))
later = os.open("f", os.O_RDONLY)
print("later", os.pread(later, 3, 0), os.fstat(later).st_size)
print("same inode", os.fstat(w).st_ino == ino == os.stat("f").st_ino)
for fd in readers + [w, later]:
    os.close(fd)
print("reopened", open("f", "rb").read(3))'
	ov_is "$ov_out" "$(printf '%s\n' "writer b'new'" "later b'new' 1048576" \
		"same inode True" "reopened b'new'")"
	vn_stats "$OV_VPID" "$WORK/veneerfs.log"
	[ "$vn_pt" = on ]
	[ "$vn_pt_opens" -ge 6 ]
	[ "$vn_reads" = 0 ]
	[ "$vn_writes" = 0 ]
}

@test "copy-up: passthrough: readers opened before the copy-up keep the lower data" {
	head -c 1048576 /dev/urandom >"$L1/f"
	ov_mount_both
	"$OV_PY" - "$VM/f" "$L1/f" <<-'EOF'
	import os, sys
	r = os.open(sys.argv[1], os.O_RDONLY)
	w = os.open(sys.argv[1], os.O_WRONLY)
	os.pwrite(w, b"new", 0)
	os.close(w)
	lower = open(sys.argv[2], "rb").read()
	if os.pread(r, 1 << 21, 0) != lower:
	    sys.exit("the reader does not read the lower file")
	os.close(r)
	r = os.open(sys.argv[1], os.O_RDONLY)
	if os.pread(r, 3, 0) != b"new":
	    sys.exit("a new open does not read the copy")
	EOF
	# The kernel's overlayfs moves such readers to the copy.
	"$OV_PY" - "$KM/f" <<-'EOF'
	import os, sys
	r = os.open(sys.argv[1], os.O_RDONLY)
	w = os.open(sys.argv[1], os.O_WRONLY)
	os.pwrite(w, b"new", 0)
	if os.pread(r, 3, 0) != b"new":
	    sys.exit("the kernel's reader does not follow the copy-up")
	EOF
}

# Small files opened for reading are read by the daemon, which moves their
# readers to the copy, as the kernel does.
@test "copy-up: passthrough: readers of a small lower file follow the copy-up" {
	echo old >"$L1/f"
	ov_mount_both
	ov_diff "$OV_PY" -c '
import os
r = os.open("f", os.O_RDONLY)
w = os.open("f", os.O_WRONLY | os.O_TRUNC)
os.write(w, b"new\n")
os.close(w)
print(os.pread(r, 100, 0))'
	ov_is "$ov_out" "b'new\\n'"
}

@test "copy-up: mmap writes reach the upper copy" {
	echo 0123456789 >"$L1/f"
	ov_mount_both
	ov_ok "$OV_PY" -c '
import mmap, os
fd = os.open("f", os.O_RDWR)
m = mmap.mmap(fd, 11)
m[0:4] = b"ABCD"
m.flush()
m.close()
os.close(fd)'
	ov_diff cat f
	ov_is "$ov_out" ABCD456789
	ov_compare_all
}

@test "copy-up: two processes copy up the same files at once" {
	local i
	mkdir -p "$L1/d/e"
	for i in $(seq 1 24); do
		echo "orig $i" >"$L1/d/e/f$i"
	done
	ov_mount_both
	race() {
		"$OV_PY" - d/e/f* <<'EOF'
import multiprocessing as mp, os, sys
files = sys.argv[1:]
bar = mp.Barrier(2 * len(files))
def writer(path, tag):
    bar.wait()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, ('%s %s\n' % (tag, path)).encode())
    os.close(fd)
procs = [mp.Process(target=writer, args=(f, t)) for f in files
         for t in ('A', 'B')]
for p in procs:
    p.start()
for p in procs:
    p.join()
    if p.exitcode:
        sys.exit('writer failed')
for f in sorted(files):
    with open(f) as fh:
        print(f, sorted(fh.read().splitlines()))
EOF
	}
	ov_ok race
	ov_is "$(printf '%s\n' "$ov_out" | sed -n 1p)" \
		"d/e/f1 ['A d/e/f1', 'B d/e/f1', 'orig 1']"
	[ "$(printf '%s\n' "$ov_out" | grep -c "'A .*'B .*'orig")" -eq 24 ]
	# which writer came first differs: compare all but the contents
	no_md5() {
		ov_tree "$@" | sed 's/ md5=[0-9a-f]*//'
	}
	ov_diff no_md5 .
	ov_unmount_both
	ov_diff_upper no_md5 --upper .
}

@test "copy-up: many files under one lower dir at once copy the parents once" {
	local i
	mkdir -p "$L2/p/q/r"
	chmod 0751 "$L2/p/q"
	for i in $(seq 1 32); do
		echo "$i" >"$L2/p/q/r/f$i"
	done
	ov_mount_both
	ov_ok sh -c 'for f in p/q/r/f*; do (echo x >>"$f") & done; wait'
	ov_compare_all
}

# Two lower layers, each on a tmpfs of its own, over an ext4 upper.
lowers_on_tmpfs() {
	ov_tmpfs "$L1"
	ov_tmpfs "$L2"
	make_lower_file
	mkdir -p "$L2/dir/sub"
	echo x >"$L2/dir/sub/g"
	echo y >"$L1/h"
}

@test "copy-up: lower layers on tmpfs, upper on ext4: st_ino kept and unique" {
	lowers_on_tmpfs
	# the kernel keeps st_ino over two filesystems only with xino
	ov_mount_both --ko xino=on
	local m before after
	for m in "$VM" "$KM"; do
		before=$(cd "$m" && stat -c '%n %d %i' f dir dir/sub dir/sub/g h)
		(cd "$m" && echo x >>f && chmod 700 dir/sub &&
			setfattr -n user.x -v 1 dir/sub/g && mv h h2)
		after=$(cd "$m" && stat -c '%n %d %i' f dir dir/sub dir/sub/g h2)
		ov_is "$after" "$(printf '%s\n' "$before" | sed 's/^h /h2 /')"
	done
	ov_diff sh -c 'find . -printf "%D:%i\n" | sort | uniq -d'
	ov_is "$ov_out" ""
	ov_compare_all
}

@test "copy-up: inode numbers over filesystems are the kernel's xino numbers" {
	lowers_on_tmpfs
	echo u >"$U/up"
	ov_mount_both --ko xino=auto
	ov_ok sh -c 'echo x >>f && touch new'
	# The same number on both sides for every object from below (the
	# upper layers are copies, with inode numbers of their own), also
	# readdir's.
	ov_diff sh -c 'stat -c "%n %i" f dir dir/sub dir/sub/g h'
	ov_diff sh -c 'ls -i dir dir/sub; ls -i . | grep -v -e " up$" -e " new$"'
	ov_compare_all
}

@test "copy-up: a lower layer whose numbers use the tag bits gets numbers of the mount's own" {
	ov_veneerfs_only "veneerfs over veneerfs"
	local a=$WORK/a au=$WORK/au aw=$WORK/aw b=$WORK/b bu=$WORK/bu \
		bw=$WORK/bw out
	mkdir "$a" "$au" "$aw" "$b" "$bu" "$bw"
	# A: an overlay of a tmpfs under ext4, so its numbers carry a tag
	# in the top bit, as the kernel's xino makes them.
	ov_tmpfs "$L1"
	mkdir "$L1/d"
	echo one >"$L1/d/one"
	echo two >"$L1/two"
	echo three >"$au/three"
	"$VENEERFS" -o "lowerdir=$L1,upperdir=$au,workdir=$aw" "$a"
	python3 -c 'import os, sys; sys.exit(os.stat(sys.argv[1]).st_ino >> 63 != 1)' \
		"$a/two"
	# B: A under an ext4 upper; A's numbers do not fit below B's tags.
	echo four >"$bu/four"
	"$VENEERFS" -f -o "lowerdir=$a,upperdir=$bu,workdir=$bw" "$b" \
		2>"$WORK/b.log" &
	local bpid=$!
	vn_wait_mount "$b"
	out=$(cd "$b" && find . -printf '%i\n' | sort | uniq -d)
	ov_is "$out" ""
	# Stable while mounted, and readdir's d_ino agrees with stat.
	ov_is "$(cd "$b" && stat -c '%n %i' d d/one two three four)" \
		"$(cd "$b" && stat -c '%n %i' d d/one two three four)"
	ov_is "$(cd "$b" && ov_dirents dino .)" ""
	ov_is "$(cd "$b" && ov_dirents dino d)" ""
	fusermount3 -u "$b"
	wait "$bpid"
	fusermount3 -u "$a"
	[ "$(grep -c 'is too big for 2 tag bits' "$WORK/b.log")" -eq 1 ]
}

# Wait until process $1 is blocked in openat(2) (the FUSE request it waits
# for cannot be answered yet); fails after about 10 seconds.
wait_in_openat() {
	local i
	for i in $(seq 1 200); do
		case $(cat "/proc/$1/syscall" 2>/dev/null) in
		257\ *) return 0 ;;
		esac
		sleep 0.05
	done
	echo "process $1 never blocked in openat" >&2
	return 1
}

@test "copy-up: a copy-up that cannot progress stalls no request on other files" {
	ov_veneerfs_only "a lower layer whose daemon is stopped"
	# The lower layer is itself a veneerfs passthrough mount; stopping its
	# daemon holds the copy-up of its file for as long as the test needs.
	local src=$WORK/lsrc lmnt=$WORK/lmnt up=$WORK/u2 wk=$WORK/w2 m=$WORK/m2
	local top=$WORK/l0
	mkdir -p "$src" "$lmnt" "$up" "$wk" "$m" "$top"
	head -c 8M /dev/urandom >"$src/big"
	echo other >"$up/other"
	echo lower >"$top/g"
	"$VENEERFS" -f "$src" "$lmnt" 2>"$WORK/lower.log" &
	OV_LPID=$!
	vn_wait_mount "$lmnt"
	"$VENEERFS" -f -o "lowerdir=$top:$lmnt,upperdir=$up,workdir=$wk" "$m" \
		2>"$WORK/over.log" &
	OV_OPID=$!
	vn_wait_mount "$m"
	stat "$m/big" "$m/other" "$m/g" >/dev/null
	kill -STOP "$OV_LPID"
	(echo tail >>"$m/big") &
	local writer=$!
	wait_in_openat "$writer"
	# Meanwhile other files are served, read and written.
	[ "$(cat "$m/other")" = other ]
	echo more >>"$m/other"
	[ "$(stat -c %s "$m/other")" -eq 11 ]
	# Another lower file is copied up while the first copy-up waits (the
	# timeout only turns a deadlock into a failure).
	timeout 30 sh -c 'echo more >>"$1"' sh "$m/g"
	[ "$(cat "$up/g")" = "$(printf 'lower\nmore')" ]
	# ... and the first copy-up is still waiting for its data.
	kill -0 "$writer"
	kill -CONT "$OV_LPID"
	wait "$writer"
	cmp <(head -c 8M "$src/big") <(head -c 8M "$m/big")
	[ "$(tail -c 5 "$m/big")" = tail ]
	fusermount3 -u "$m"
	wait "$OV_OPID"
	fusermount3 -u "$lmnt"
	wait "$OV_LPID"
	OV_LPID= OV_OPID=
}

@test "copy-up: a daemon killed during copy-ups leaves no partial file" {
	ov_veneerfs_only "killing the daemon"
	local up=$WORK/u2 wk=$WORK/w2 m=$WORK/m2 f n=0 want
	mkdir -p "$up" "$wk" "$m" "$L1/d"
	for f in $(seq 1 60); do
		head -c 2M /dev/urandom >"$L1/d/f$f"
	done
	"$VENEERFS" -f -o "lowerdir=$L1,upperdir=$up,workdir=$wk" "$m" \
		2>"$WORK/over.log" &
	OV_OPID=$!
	vn_wait_mount "$m"
	(for f in $(seq 1 60); do echo x >>"$m/d/f$f" || exit 0; done) &
	local writer=$!
	# Kill it once copy-ups are under way; where it stops does not
	# matter, the invariant below holds at every point.
	for f in $(seq 1 200); do
		[ -e "$up/d/f1" ] && break
		sleep 0.05
	done
	kill -KILL "$OV_OPID"
	wait "$OV_OPID" || true
	OV_OPID=
	wait "$writer" || true
	umount -l "$m"
	# Each file in the upper layer is the whole lower file, with or
	# without the appended line.
	for f in "$up"/d/f*; do
		n=$((n + 1))
		want=$L1/d/${f##*/}
		cmp -s "$f" "$want" ||
			cmp -s "$f" <(cat "$want" - <<<x) ||
			{ echo "partial copy-up: $f" >&2; return 1; }
	done
	[ "$n" -ge 1 ]
	# Mounted again, the work dir's leftovers are cleared and every file
	# reads whole.
	"$VENEERFS" -f -o "lowerdir=$L1,upperdir=$up,workdir=$wk" "$m" \
		2>>"$WORK/over.log" &
	OV_OPID=$!
	vn_wait_mount "$m"
	[ -z "$(ls -A "$wk/work")" ]
	for f in $(seq 1 60); do
		cmp -s "$m/d/f$f" "$L1/d/f$f" ||
			cmp -s "$m/d/f$f" <(cat "$L1/d/f$f" - <<<x)
	done
	fusermount3 -u "$m"
	wait "$OV_OPID"
	OV_OPID=
}
