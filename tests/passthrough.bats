#!/usr/bin/env bats
# Namespace and attribute operations, checked differentially: the same
# steps run on the mount and on $REF, a plain ext4 directory, and must give
# the same stat fields, contents and errno (vn_diff, vn_expect_both).
# Where the mount and SOURCE show one and the same object, they must agree
# to the nanosecond.

load helpers

setup() {
	export LC_ALL=C
	vn_setup
	vn_mount -o allow_other
}

teardown() {
	vn_teardown
}

# Everything stat can say about an object, for comparing the mount with
# SOURCE (the same objects): inode, type, mode, links, owner, size, blocks,
# device numbers and the three times in nanoseconds.
full_stat() {
	stat -c '%n %i %F %a %h %u %g %s %b %t:%T %x %y %z' -- "$@"
}

# Compare full_stat of the named paths on the mount and on SOURCE.
same_as_source() {
	local m s
	m=$(cd "$MNT" && full_stat "$@")
	s=$(cd "$SRC" && full_stat "$@")
	if [ "$m" != "$s" ]; then
		printf 'mount and source differ:\n%s\n---\n%s\n' "$m" "$s" >&2
		return 1
	fi
}

make_types() {
	echo hello >file
	mkdir dir
	ln -s file link
	ln -s nowhere dangling
	mkfifo fifo
	"$VNOP" mknod sock sock 0640 >/dev/null
	"$VNOP" mknod chr char 0600 1 3 >/dev/null
	"$VNOP" mknod blk block 0600 7 0 >/dev/null
	echo deep >dir/inner
}

# Objects made in SOURCE behind the mount's back show after the attribute
# timeout (1 s with cache=auto); make them before mounting instead.
make_in_source() {
	vn_unmount
	(cd "$SRC" && "$@")
	vn_mount -o allow_other
}

@test "lookup, getattr: every file type stats as in SOURCE" {
	make_in_source make_types
	same_as_source . file dir link dangling fifo sock chr blk dir/inner
	# and again once the attributes are cached
	same_as_source . file dir link dangling fifo sock chr blk dir/inner
}

@test "lookup, getattr: objects made through the mount stat as on ext4" {
	vn_diff make_types
	vn_diff vn_attrs . file dir link dangling fifo sock chr blk dir/inner
	vn_diff stat -c '%n %t:%T' chr blk
	[ "$vn_out" = "$(printf 'chr 1:3\nblk 7:0')" ]
}

@test "lookup: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG like ext4" {
	vn_diff make_types
	vn_diff ln -s loop1 loop2
	vn_diff ln -s loop2 loop1
	vn_expect_both ENOENT stat missing
	vn_expect_both ENOENT stat dir/missing
	vn_expect_both ENOENT stat dangling
	vn_expect_both ENOTDIR stat file/x
	vn_expect_both ELOOP stat loop1
	vn_expect_both 0 lstat loop1
	vn_expect_both ENAMETOOLONG stat "$(printf 'n%.0s' {1..256})"
	vn_expect_both ENOENT stat "$(printf 'n%.0s' {1..255})"
	vn_expect_both regular stat link type
	vn_expect_both symlink lstat link type
}

chmod_steps() {
	touch f
	mkdir d
	chmod 0 f
	"$VNOP" stat f mode
	chmod 4755 f
	"$VNOP" stat f mode
	chmod 1777 d
	"$VNOP" stat d mode
	chmod 2750 d
	"$VNOP" stat d mode
	"$VNOP" chmod missing 0644
}

@test "setattr: chmod of files and dirs, special bits included" {
	vn_diff chmod_steps
	[ "$vn_out" = "$(printf '00\n04755\n01777\n02750\nENOENT')" ]
	same_as_source f d
}

chown_steps() {
	touch f g
	ln -s f l
	chown 123:456 f
	chgrp 789 g
	chown -h 321:654 l
	chmod 6755 g
	chown 1000 g # clears set-user-ID and set-group-ID
	vn_attrs f g l
	"$VNOP" lstat l uid
	"$VNOP" lstat l gid
	"$VNOP" stat l uid
	"$VNOP" chown missing 1 1
}

@test "setattr: chown, chgrp, lchown, and the set-ID bits they clear" {
	vn_diff chown_steps
	[[ "$vn_out" == *"regular empty file 644 1 123 456 0"* ]]
	[[ "$vn_out" == *"regular empty file 755 1 1000 789 0"* ]]
	[[ "$vn_out" == *"$(printf '321\n654\n123\nENOENT')" ]]
	same_as_source f g l
}

# Writing to or truncating a set-ID file as nobody drops the bits; so does
# chmod g+s by a non-member of the group.
setid_steps() {
	mkdir -m 0777 pub
	touch pub/w pub/t
	chmod 4777 pub/w
	chmod 6777 pub/t
	as_nobody sh -c 'echo x >>pub/w'
	as_nobody truncate -s 5 pub/t
	as_nobody touch pub/n
	chown :4242 pub/n
	as_nobody chmod 2755 pub/n
	stat -c '%n %a %g' pub/w pub/t pub/n
}

@test "setattr: writes, truncates and chmod by nobody drop set-ID bits as on ext4" {
	vn_diff setid_steps
	[ "$vn_out" = "$(printf 'pub/w 777 0\npub/t 777 0\npub/n 755 4242')" ]
	same_as_source pub/w pub/t pub/n
}

truncate_steps() {
	printf 'hello world' >f
	truncate -s 5 f
	cat f; echo
	"$VNOP" truncate f 100
	vn_attrs f
	"$VNOP" open f O_RDWR : ftruncate %0 3 : write %0 10 X
	od -An -c f
	"$VNOP" truncate missing 0
	"$VNOP" truncate . 0
	"$VNOP" truncate f -1
}

@test "setattr: truncate by path and by an open fd (ftruncate)" {
	vn_diff truncate_steps
	[[ "$vn_out" == hello* ]]
	[[ "$vn_out" == *"regular file 644 1 0 0 100"* ]]
	[[ "$vn_out" == *"$(printf 'ENOENT\nEISDIR\nEINVAL')" ]]
	same_as_source f
}

# pjdfstest's classic: a file created with mode 0 can be truncated through
# the descriptor that created it, but not by path.
mode0_steps() {
	mkdir -m 0777 pub
	as_nobody "$VNOP" open pub/f O_CREAT,O_RDWR 0 : ftruncate %0 123 : \
		fchmod %0 0 : write %0 0 abc
	as_nobody "$VNOP" truncate pub/f 0
	as_nobody "$VNOP" open pub/f O_RDONLY
	vn_attrs pub/f
}

@test "setattr: ftruncate through a descriptor created with mode 0" {
	vn_diff mode0_steps
	[ "$vn_out" = "$(printf '0\n0\n0\n3\nEACCES\nEACCES\nregular file 0 1 65534 65534 123')" ]
}

utimes_steps() {
	touch f g h
	ln -s f l
	"$VNOP" utimensat f 1000000000.123456789 1200000000.5
	"$VNOP" stat f atime
	"$VNOP" stat f mtime
	"$VNOP" utimensat f OMIT 1300000000
	"$VNOP" stat f atime
	"$VNOP" stat f mtime
	"$VNOP" utimensat f 1400000000.25 OMIT
	"$VNOP" stat f atime
	"$VNOP" stat f mtime
	# A symlink's own times, and the target's untouched.
	"$VNOP" utimensat l 1 2 AT_SYMLINK_NOFOLLOW
	"$VNOP" lstat l atime
	"$VNOP" lstat l mtime
	"$VNOP" stat l mtime
	# Explicit times need ownership; "now" needs write access only.
	chmod 0666 g
	as_nobody "$VNOP" utimensat g 5 5
	as_nobody "$VNOP" utimensat g NOW NOW
	chmod 0644 h
	as_nobody "$VNOP" utimensat h NOW NOW
}

@test "setattr: utimes with explicit times, UTIME_OMIT, symlinks, as nobody" {
	vn_diff utimes_steps
	[ "$(sed -n 1,10p <<<"$vn_out")" = "0
1000000000.123456789
1200000000.500000000
0
1000000000.123456789
1300000000.000000000
0
1400000000.250000000
1300000000.000000000
0" ]
	[ "$(sed -n 11,16p <<<"$vn_out")" = "1.000000000
2.000000000
1300000000.000000000
EPERM
0
EACCES" ]
	same_as_source f l
}

# UTIME_NOW: the times set are the current time, which differs between the
# two runs, so each run checks itself and reports only the verdict.
now_steps() {
	touch -d @1000000000 f
	before=$(date +%s.%N)
	"$VNOP" utimensat f NOW NOW
	after=$(date +%s.%N)
	a=$("$VNOP" stat f atime)
	m=$("$VNOP" stat f mtime)
	echo "$before $a $m $after" | awk '{
		print ($1 <= $2 + 0.01 && $2 <= $4 + 0.01) ? "atime now" : "atime " $2
		print ($1 <= $3 + 0.01 && $3 <= $4 + 0.01) ? "mtime now" : "mtime " $3 }'
	touch -d @1000000000 f
	"$VNOP" utimensat f NOW OMIT
	"$VNOP" stat f mtime
}

@test "setattr: UTIME_NOW sets the current time, with OMIT left alone" {
	vn_diff now_steps
	[ "$vn_out" = "$(printf '0\natime now\nmtime now\n0\n1000000000.000000000')" ]
	same_as_source f
}

readlink_steps() {
	long=$(printf 'x%.0s' {1..4095})
	ln -s target rel
	ln -s /etc/passwd abs
	ln -s ../../a/b/./c weird
	ln -s "$long" long
	"$VNOP" readlink rel
	"$VNOP" readlink abs
	"$VNOP" readlink weird
	[ "$("$VNOP" readlink long)" = "$long" ] && echo long ok
	"$VNOP" symlink "${long}x" toolong
	"$VNOP" readlink missing
	echo data >plain
	"$VNOP" readlink plain
}

@test "readlink: relative, absolute, 4095-byte and odd targets" {
	vn_diff readlink_steps
	[ "$vn_out" = "$(printf 'target\n/etc/passwd\n../../a/b/./c\nlong ok\nENAMETOOLONG\nENOENT\nEINVAL')" ]
	same_as_source rel abs weird long
}

mknod_steps() {
	"$VNOP" mknod reg reg 0640
	"$VNOP" mknod fifo fifo 0604
	"$VNOP" mknod sock sock 0755
	"$VNOP" mknod chr char 0620 1 7
	"$VNOP" mknod blk block 0660 8 17
	"$VNOP" mknod fifo fifo 0644
	"$VNOP" mknod missing/x fifo 0644
	vn_attrs reg fifo sock chr blk
	stat -c '%t:%T' chr blk
	as_nobody "$VNOP" mknod nope char 0600 1 3
}

@test "mknod: regular, fifo, socket, char and block devices" {
	chmod 0777 "$MNT" "$REF"
	vn_diff mknod_steps
	[ "$vn_out" = "0
0
0
0
0
EEXIST
ENOENT
regular empty file 640 1 0 0 0
fifo 604 1 0 0 0
socket 755 1 0 0 0
character special file 600 1 0 0 0
block special file 640 1 0 0 0
1:7
8:11
EPERM" ]
	same_as_source reg fifo sock chr blk
}

mkdir_steps() {
	"$VNOP" mkdir a 0755
	"$VNOP" mkdir b 0700
	"$VNOP" mkdir c 1777
	"$VNOP" mkdir a 0755
	"$VNOP" mkdir missing/x 0755
	"$VNOP" mkdir a/sub 0751
	vn_attrs . a b c a/sub
	# A set-group-ID dir hands its group and the bit down.
	mkdir g
	chown :4242 g
	chmod 2775 g
	mkdir g/sub
	touch g/file
	vn_attrs g/sub g/file
}

@test "mkdir: modes, EEXIST, ENOENT, parent links, set-group-ID inheritance" {
	vn_diff mkdir_steps
	[ "$(sed -n 1,6p <<<"$vn_out")" = "$(printf '0\n0\n0\nEEXIST\nENOENT\n0')" ]
	[[ "$vn_out" == *"directory 755 5 0 0 4096"* ]] # ., with a b c
	[[ "$vn_out" == *"directory 2755 2 0 4242 4096"* ]]
	[[ "$vn_out" == *"regular empty file 644 1 0 4242 0" ]]
	same_as_source . a b c a/sub g g/sub g/file
}

unlink_steps() {
	echo data >f
	echo kept >open
	mkdir d
	"$VNOP" unlink f
	"$VNOP" stat f
	"$VNOP" unlink f
	"$VNOP" unlink d
	"$VNOP" unlink d/x
	# An open file stays usable once its name is gone.
	"$VNOP" open open O_RDWR : unlink open : read %0 0 100 : \
		fstat %0 nlink : ftruncate %0 2 : fstat %0 size : write %0 0 abc
	ls -a
}

@test "unlink: files, missing names, dirs, open files" {
	vn_diff unlink_steps
	[ "$vn_out" = "$(printf '0\nENOENT\nENOENT\nEISDIR\nENOENT\n0\n0\n5\n0\n0\n2\n3\n.\n..\nd')" ]
	[ "$(ls -a "$SRC")" = "$(printf '.\n..\nd')" ]
}

rmdir_steps() {
	mkdir -p empty full/sub
	touch full/f file
	"$VNOP" rmdir empty
	"$VNOP" rmdir full
	"$VNOP" rmdir full/sub
	"$VNOP" rmdir full
	"$VNOP" rmdir file
	"$VNOP" rmdir missing
	mkdir e
	"$VNOP" rmdir e/.
	ls -a
}

@test "rmdir: empty dirs, ENOTEMPTY, ENOTDIR, ENOENT, EINVAL" {
	vn_diff rmdir_steps
	[ "$vn_out" = "$(printf '0\nENOTEMPTY\n0\nENOTEMPTY\nENOTDIR\nENOENT\nEINVAL\n.\n..\ne\nfile\nfull')" ]
	same_as_source . full e
}

symlink_steps() {
	echo data >file
	"$VNOP" symlink file s
	"$VNOP" symlink file s
	"$VNOP" symlink whatever file
	"$VNOP" symlink x missing/s
	"$VNOP" lstat s type
	"$VNOP" lstat s size
	cat s
	ln -s l2 l1
	ln -s l1 l2
	"$VNOP" stat l1
	"$VNOP" open s O_RDONLY,O_NOFOLLOW
	"$VNOP" open l1 O_RDONLY
	"$VNOP" open s O_RDONLY,O_DIRECTORY
}

@test "symlink: create, EEXIST, ENOENT, ELOOP, O_NOFOLLOW" {
	vn_diff symlink_steps
	[ "$vn_out" = "$(printf '0\nEEXIST\nEEXIST\nENOENT\nsymlink\n4\ndata\nELOOP\nELOOP\nELOOP\nENOTDIR')" ]
	same_as_source s l1 l2
}

rename_steps() {
	echo one >a
	echo two >b
	mkdir -p d1 d2/sub e
	touch d2/sub/x
	"$VNOP" rename a a2
	"$VNOP" stat a
	cat a2
	"$VNOP" rename a2 b # over an existing file
	cat b
	"$VNOP" stat a2
	"$VNOP" rename d1 e # over an empty dir
	"$VNOP" rename e d2 # over a non-empty dir
	"$VNOP" rename b d2 # file over dir
	"$VNOP" rename d2 b # dir over file
	"$VNOP" rename d2 d2/sub/into # into itself
	"$VNOP" rename missing x
	"$VNOP" rename b d2/sub/b
	cat d2/sub/b
	find . | sort
}

@test "rename: plain, over existing files and dirs, and its errors" {
	vn_diff rename_steps
	[ "$vn_out" = "0
ENOENT
one
0
one
ENOENT
0
ENOTEMPTY
EISDIR
ENOTDIR
EINVAL
ENOENT
0
one
.
./d2
./d2/sub
./d2/sub/b
./d2/sub/x
./e" ]
}

@test "rename: the object keeps its inode, on the mount as in SOURCE" {
	echo data >"$MNT/f"
	ino=$(stat -c %i "$MNT/f")
	mv "$MNT/f" "$MNT/g"
	mkdir "$MNT/d"
	mv "$MNT/g" "$MNT/d/h"
	[ "$(stat -c %i "$MNT/d/h")" = "$ino" ]
	[ "$(stat -c %i "$SRC/d/h")" = "$ino" ]
	[ "$(cat "$MNT/d/h")" = data ]
	[ ! -e "$SRC/f" ]
	[ ! -e "$SRC/g" ]
	same_as_source d d/h
}

rename2_steps() {
	echo one >a
	echo two >b
	mkdir d
	touch d/inside
	"$VNOP" renameat2 a b NOREPLACE
	cat a b
	"$VNOP" renameat2 a c NOREPLACE
	"$VNOP" stat a
	cat c
	"$VNOP" renameat2 c d EXCHANGE # a file and a dir swap names
	"$VNOP" stat c type
	"$VNOP" stat d type
	cat d
	ls c
	"$VNOP" renameat2 d missing EXCHANGE
	"$VNOP" renameat2 b c NOREPLACE,EXCHANGE
}

@test "rename: RENAME_NOREPLACE gives EEXIST, RENAME_EXCHANGE swaps a file and a dir" {
	vn_diff rename2_steps
	[ "$vn_out" = "$(printf 'EEXIST\none\ntwo\n0\nENOENT\none\n0\ndir\nregular\none\ninside\nENOENT\nEINVAL')" ]
	same_as_source b c d c/inside
}

@test "rename: RENAME_EXCHANGE through the mount: each name finds the other object" {
	echo file >"$MNT/f"
	mkdir "$MNT/d"
	fi=$(stat -c %i "$MNT/f")
	di=$(stat -c %i "$MNT/d")
	cd "$MNT"
	vn_expect 0 renameat2 f d EXCHANGE
	[ "$(stat -c '%i %F' f)" = "$di directory" ]
	[ "$(stat -c '%i %F' d)" = "$fi regular file" ]
	[ "$(cat d)" = file ]
	echo new >f/x
	[ "$(cat "$SRC/f/x")" = new ]
	cd /
	same_as_source f d f/x
}

@test "rename: RENAME_WHITEOUT leaves a whiteout behind, as on ext4" {
	vn_diff sh -c 'echo a >a; "$0" renameat2 a b WHITEOUT; stat -c "%n %F %a %t:%T" a b; cat b' "$VNOP"
	[ "$vn_out" = "$(printf '0\na character special file 0 0:0\nb regular file 644 0:0\na')" ]
	same_as_source a b
}

link_steps() {
	echo data >f
	mkdir d
	"$VNOP" link f g
	"$VNOP" link f d/h
	vn_attrs f g d/h
	"$VNOP" link f g
	"$VNOP" link d d2
	"$VNOP" link missing x
	"$VNOP" unlink f
	vn_attrs g
	cat d/h
	# protected_hardlinks: nobody may not link to root's file.
	chmod 0777 d
	echo r >rootfile
	as_nobody "$VNOP" link rootfile d/mine
}

@test "link: hard links share the inode and count links" {
	vn_diff link_steps
	[ "$vn_out" = "0
0
regular file 644 3 0 0 5
regular file 644 3 0 0 5
regular file 644 3 0 0 5
EEXIST
EPERM
ENOENT
0
regular file 644 2 0 0 5
data
$(if [ "$(cat /proc/sys/fs/protected_hardlinks)" = 1 ]; then echo EPERM; else echo 0; fi)" ]
}

# linkat() without AT_SYMLINK_FOLLOW links a symlink itself, for root and
# for nobody alike.
link_symlink_steps() {
	mkdir -m 0777 pub
	echo data >pub/target
	ln -s target pub/rootlink
	as_nobody ln -s target pub/mylink
	ln -P pub/rootlink pub/hl_root
	as_nobody ln -P pub/mylink pub/hl_nobody
	vn_attrs pub/hl_root pub/hl_nobody pub/target
	"$VNOP" readlink pub/hl_nobody
}

@test "link: a hard link to a symlink links the symlink, as root and as nobody" {
	vn_diff link_symlink_steps
	[ "$vn_out" = "symbolic link 777 2 0 0 6
symbolic link 777 2 65534 65534 6
regular file 644 1 0 0 5
target" ]
	same_as_source pub/hl_root pub/hl_nobody pub/target
}

@test "link: the names share st_ino and st_nlink on the mount" {
	echo data >"$MNT/f"
	ln "$MNT/f" "$MNT/g"
	[ "$(stat -c '%i %h' "$MNT/f")" = "$(stat -c '%i %h' "$MNT/g")" ]
	[ "$(stat -c '%i %h' "$MNT/f")" = "$(stat -c '%i %h' "$SRC/f")" ]
	[ "$(stat -c %h "$MNT/g")" = 2 ]
	echo more >>"$MNT/g"
	[ "$(cat "$MNT/f")" = "$(printf 'data\nmore')" ]
	rm "$MNT/f"
	[ "$(stat -c %h "$MNT/g")" = 1 ]
	same_as_source g
}

readdir_steps() {
	mkdir d
	echo x >d/file
	mkdir d/sub
	ln -s file d/link
	mkfifo d/fifo
	touch d/.hidden d/'with space' d/'new
line'
	ls -a d
	ls -ab --file-type d
	find d -printf '%y %p\n' | sort
}

@test "readdir: listings equal ext4's, types included" {
	vn_diff readdir_steps
	[[ "$vn_out" == *"d/with space"* ]]
	[ "$(ls -a "$MNT/d" | wc -l)" -ge 9 ]
}

@test "readdirplus: ls -l on the mount shows SOURCE's attributes" {
	make_in_source make_types
	[ "$(ls -lain --time-style=full-iso "$MNT")" = "$(ls -lain --time-style=full-iso "$SRC")" ]
	[ "$(ls -lain --time-style=full-iso "$MNT/dir")" = "$(ls -lain --time-style=full-iso "$SRC/dir")" ]
}

# Make 3000 files in big/ through the mount and on ext4; list them.
make_big() {
	mkdir big
	(cd big && seq -f 'entry-%04g' 1 3000 | xargs touch)
}

@test "readdir: a dir of 3000 entries lists completely, as on ext4" {
	vn_diff make_big
	vn_diff sh -c 'ls -a big | wc -l; ls -a big | sort | md5sum'
	[ "$(head -1 <<<"$vn_out")" = 3002 ]
	[ "$(ls -U "$MNT/big" | sort)" = "$(ls -U "$SRC/big" | sort)" ]
	[ "$(find "$MNT/big" -type f | wc -l)" = 3000 ]
	# readdirplus: ls -l fills every entry's attributes
	local d
	for d in "$MNT" "$SRC" "$REF"; do
		ls -lan --time-style=full-iso "$d/big" >"$d.ls"
	done
	# the same objects: the same to the nanosecond, "total" included
	diff "$SRC.ls" "$MNT.ls"
	# against ext4: the fields that do not depend on when and where the
	# blocks went (a fragmented dir needs an extent block more)
	diff <(awk 'NR > 1 { print $1, $2, $3, $4, $5, $9 }' "$REF.ls") \
		<(awk 'NR > 1 { print $1, $2, $3, $4, $5, $9 }' "$MNT.ls")
	[ "$(ls -lan "$MNT/big" | wc -l)" = 3003 ]
}

# Read the dir, note telldir() at some entries, then seekdir() back to each
# and check that the same names follow; also rewinddir(). Prints "ok" and
# the number of names, or what went wrong.
SEEKDIR_PY='
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
def names(d, n=None):
    out = []
    while n is None or len(out) < n:
        e = libc.readdir(d)
        if not e:
            break
        out.append(e.contents.d_name)
    return out
d = libc.opendir(sys.argv[1].encode())
assert d, "opendir failed"
marks, order = {}, []
while True:
    pos = libc.telldir(d)
    e = libc.readdir(d)
    if not e:
        break
    order.append(e.contents.d_name)
    marks[len(order) - 1] = pos
want = [0, 1, 2, 100, 1500, 2998, 3001, 2000, 7]
for i in want:
    libc.seekdir(d, marks[i])
    got = names(d, 5)
    if got != order[i:i + 5]:
        print("seekdir to entry", i, "gave", got[:2], "expected", order[i:i + 2])
        sys.exit(1)
libc.rewinddir(d)
if names(d) != order:
    print("rewinddir: a second pass differs")
    sys.exit(1)
libc.closedir(d)
print("ok", len(order), len(set(order)))
'

@test "readdir: telldir/seekdir positions are stable in a 3000-entry dir" {
	(cd "$MNT" && make_big)
	run python3 -c "$SEEKDIR_PY" "$MNT/big"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 3002 3002" ]
}

statfs_nums() {
	stat -f -c '%b %f %a %c %d %s %S %l' "$1"
	df --output=size,used,avail,itotal,iused,iavail "$1" | tail -1
}

@test "statfs: df and stat -f on the mount give SOURCE's numbers" {
	local i before on_mnt after
	# Others may write to the same disk: retry until SOURCE's numbers
	# are steady across the reading of the mount's.
	for i in $(seq 1 50); do
		before=$(statfs_nums "$SRC")
		on_mnt=$(statfs_nums "$MNT")
		after=$(statfs_nums "$SRC")
		[ "$before" = "$after" ] && break
	done
	[ "$before" = "$after" ]
	echo "source: $before"
	echo "mount:  $on_mnt"
	[ "$on_mnt" = "$before" ]
	# and from a subdirectory too
	mkdir "$MNT/sub"
	[ "$(stat -f -c '%b %s %S %c %l' "$MNT/sub")" = "$(stat -f -c '%b %s %S %c %l' "$SRC")" ]
}

# What nobody may do (r, w, x), what root may execute (X), and whether
# nobody can reach a name inside each dir (e).
ACCESS_WANT=" d1777:rwxXe d700:X d711:xXe d755:rxXe d777:rwxXe m000: m4755:rxX m600: m644:r m666:rw m700:X m711:xX m744:rX m755:rxX mine:rw"

access_steps() {
	local f out=
	for f in *; do
		out="$out $f:"
		as_nobody test -r "$f" && out="${out}r"
		as_nobody test -w "$f" && out="${out}w"
		as_nobody test -x "$f" && out="${out}x"
		test -x "$f" && out="${out}X"
		[ -d "$f" ] && as_nobody test -e "$f/inner" && out="${out}e"
	done
	echo "$out"
	as_nobody "$VNOP" access m600 R_OK
	as_nobody "$VNOP" access m666 R_OK,W_OK
	as_nobody "$VNOP" access m644 W_OK
	"$VNOP" access m644 X_OK
	"$VNOP" access m744 X_OK
}

make_access_tree() {
	local m
	for m in 000 600 644 666 755 700 711 744 4755; do
		echo "#!/bin/sh" >"$1/m$m"
		chmod "$m" "$1/m$m"
	done
	for m in 700 711 755 777 1777; do
		mkdir "$1/d$m"
		touch "$1/d$m/inner"
		chmod "$m" "$1/d$m"
	done
	touch "$1/mine"
	chown 65534:65534 "$1/mine"
	chmod 0604 "$1/mine"
}

@test "access: test -r/-w/-x as nobody and root match ext4" {
	make_access_tree "$SRC"
	make_access_tree "$REF"
	vn_diff access_steps
	echo "$vn_out"
	[ "$(head -1 <<<"$vn_out")" = "$ACCESS_WANT" ]
	[ "$(sed -n 2,6p <<<"$vn_out")" = "$(printf 'EACCES\n0\nEACCES\nEACCES\n0')" ]
}

@test "access: with nodefault_permissions the daemon's ACCESS matches ext4" {
	vn_unmount
	make_access_tree "$SRC"
	make_access_tree "$REF"
	vn_mount -o allow_other,nodefault_permissions
	vn_diff access_steps
	echo "$vn_out"
	[ "$(head -1 <<<"$vn_out")" = "$ACCESS_WANT" ]
	[ "$(sed -n 2,6p <<<"$vn_out")" = "$(printf 'EACCES\n0\nEACCES\nEACCES\n0')" ]
}

@test "forget: nodes are released and found again after the kernel drops them" {
	vn_unmount
	vn_mount -d -o allow_other
	mkdir "$MNT/d"
	seq -f "$MNT/d/f%g" 1 200 | xargs touch
	ls -l "$MNT/d" >/dev/null
	vn_stats
	[ "$vn_nodes" -ge 202 ]
	# Drop the kernel's dentries and inodes: FORGET for each, and the
	# daemon lets the nodes go (the root stays).
	echo 2 >/proc/sys/vm/drop_caches
	grep -q 'opcode: \(BATCH_\)\?FORGET' "$WORK/daemon.log"
	vn_stats
	[ "$vn_nodes" -le 2 ]
	[ "$(ls "$MNT/d" | wc -l)" = 200 ]
	same_as_source d d/f1 d/f200
	echo again >"$MNT/d/f7"
	[ "$(cat "$SRC/d/f7")" = again ]
	vn_unmount
}
