#!/usr/bin/env bats
# Overlay lookup, top down: the upper layer first, then the lowers left to
# right. A whiteout hides what is below it, an opaque directory stops the
# walk, a non-directory ends it, directories merge. Each scenario runs on a
# veneerfs overlay mount and on the kernel's overlayfs over the same layers,
# which must show the same (see overlay.bash).

load helpers
load overlay

@test "lookup: the upper layer wins, then the leftmost lower" {
	echo l3 >"$L3/a"
	echo l2 >"$L2/a"
	echo l1 >"$L1/a"
	echo up >"$U/a"
	echo l2 >"$L2/b"
	echo l3 >"$L3/b"
	echo l3 >"$L3/c"
	echo l1 >"$L1/d"
	echo l3 >"$L3/d"
	chmod 0600 "$L1/d"
	chown 5:6 "$L3/d"
	ov_mount_both
	ov_diff cat a b c d
	ov_is "$ov_out" "$(printf 'up\nl2\nl3\nl1')"
	ov_diff stat -c '%n %a %u %g %s' a b c d
	ov_is "$ov_out" "$(printf 'a 644 0 0 3\nb 644 0 0 3\nc 644 0 0 3\nd 600 0 0 3')"
	ov_diff ov_tree .
}

@test "lookup: the lower order is the order of lowerdir" {
	echo first >"$L1/x"
	echo second >"$L2/x"
	ov_mount_both --lowers "$L2:$L1"
	ov_diff cat x
	ov_is "$ov_out" second
	ov_unmount_both
	ov_mount_both --lowers "$L1:$L2"
	ov_diff cat x
	ov_is "$ov_out" first
}

@test "lookup: a char 0/0 whiteout hides the layers below it" {
	echo l2 >"$L2/f"
	echo l3 >"$L3/f"
	mknod "$L1/f" c 0 0           # whiteout in a lower layer
	mkdir -p "$L3/d/sub"
	echo deep >"$L3/d/sub/x"
	mknod "$L2/d" c 0 0           # hides a whole directory
	echo l1 >"$L1/g"
	mknod "$U/g" c 0 0            # whiteout in the upper layer
	mknod "$U/h" c 0 0            # over nothing at all
	echo l1 >"$L1/k"
	mknod "$L2/k" c 0 0           # below the file: hides only what is under
	echo l3 >"$L3/k"
	ov_mount_both
	ov_expect ENOENT stat f
	ov_expect ENOENT stat d
	ov_expect ENOENT stat d/sub/x
	ov_expect ENOENT stat g
	ov_expect ENOENT lstat h
	ov_expect ENOENT open g O_RDONLY
	ov_diff cat k
	ov_is "$ov_out" l1
	ov_diff ls -A
	ov_is "$ov_out" k
	ov_diff ov_tree .
}

@test "lookup: a char device other than 0/0 and a block 0/0 are not whiteouts" {
	echo l2 >"$L2/c13"
	echo l2 >"$L2/b00"
	echo l2 >"$L2/c01"
	mknod "$L1/c13" c 1 3
	mknod "$L1/b00" b 0 0
	mknod "$L1/c01" c 0 1
	ov_mount_both
	ov_diff stat -c '%n %F %t:%T' b00 c01 c13
	ov_is "$ov_out" "$(printf 'b00 block special file 0:0\nc01 character special file 0:1\nc13 character special file 1:3')"
	ov_diff ov_tree .
}

@test "lookup: an opaque directory stops the walk, in any layer" {
	mkdir "$U/top" "$L1/top" "$L2/top"
	echo u >"$U/top/u"
	echo l1 >"$L1/top/l1"
	echo l2 >"$L2/top/l2"
	setfattr -n trusted.overlay.opaque -v y "$U/top"
	mkdir "$L1/mid" "$L2/mid" "$L3/mid"
	echo l1 >"$L1/mid/l1"
	echo l2 >"$L2/mid/l2"
	echo l3 >"$L3/mid/l3"
	mkdir -p "$L2/mid/sub" "$L3/mid/sub"
	echo l3 >"$L3/mid/sub/l3"
	setfattr -n trusted.overlay.opaque -v y "$L2/mid"
	mkdir "$L3/bottom"
	echo l3 >"$L3/bottom/l3"
	setfattr -n trusted.overlay.opaque -v y "$L3/bottom"
	# only the value "y" makes a directory opaque
	mkdir "$L1/notopq" "$L2/notopq"
	echo l2 >"$L2/notopq/l2"
	setfattr -n trusted.overlay.opaque -v n "$L1/notopq"
	ov_mount_both
	ov_diff ls top mid mid/sub bottom notopq
	ov_is "$ov_out" "$(printf 'bottom:\nl3\n\nmid:\nl1\nl2\nsub\n\nmid/sub:\n\nnotopq:\nl2\n\ntop:\nu')"
	ov_expect ENOENT stat top/l1
	ov_expect ENOENT stat mid/l3
	ov_expect ENOENT stat mid/sub/l3
	ov_diff ov_tree .
}

@test "lookup: a non-directory ends the walk" {
	echo file >"$L1/n"
	mkdir "$L2/n"
	echo below >"$L2/n/x"
	mkdir "$L1/m" "$L3/m"
	echo l1 >"$L1/m/l1"
	echo l3 >"$L3/m/l3"
	echo file >"$L2/m"      # between two dirs: the walk stops here
	ln -s elsewhere "$U/s"
	mkdir "$L1/s"
	echo l1 >"$L1/s/x"
	mkdir "$U/dir"
	echo l1 >"$L1/dir"      # a dir over a file: nothing to merge
	ov_mount_both
	ov_diff cat n
	ov_is "$ov_out" file
	ov_expect ENOTDIR stat n/x
	ov_diff ls m
	ov_is "$ov_out" l1
	ov_expect ENOENT stat m/l3
	ov_expect symlink lstat s type
	ov_expect elsewhere readlink s
	ov_expect dir stat dir type
	ov_diff ov_tree .
}

@test "lookup: directories merge at every depth; the top one gives the attributes" {
	local l
	for l in "$U" "$L1" "$L2" "$L3"; do
		mkdir -p "$l/d/e/f"
		echo "${l##*/}" >"$l/d/only-${l##*/}"
		echo "${l##*/}" >"$l/d/e/f/only-${l##*/}"
		echo "${l##*/}" >"$l/d/e/common"
	done
	chmod 0750 "$U/d" "$L3/d/e"
	chown 7:8 "$U/d/e"
	chown 1:1 "$L1/d/e"
	rm -r "$U/d/e/f" "$L1/d/e/f"
	chown 9:10 "$L2/d/e/f" "$L3/d/e/f"
	chmod 0700 "$L2/d/e/f"
	setfattr -n user.layer -v l1 "$L1/d/e"
	setfattr -n user.layer -v l2 "$L2/d/e/f"
	setfattr -n user.layer -v l3 "$L3/d/e/f"
	mkdir -p "$L2/only2/x" "$L3/only2/y"
	ov_mount_both
	ov_diff stat -c '%n %a %u:%g %h' d d/e d/e/f only2
	# merged dirs report one link, as the kernel does
	ov_is "$ov_out" "$(printf 'd 750 0:0 1\nd/e 755 7:8 1\nd/e/f 700 9:10 1\nonly2 755 0:0 1')"
	ov_diff cat d/e/common
	ov_is "$ov_out" u
	# xattrs are the top directory's, not merged
	ov_expect ENODATA getxattr d/e user.layer
	ov_expect l2 getxattr d/e/f user.layer
	ov_diff ov_tree .
}

@test "lookup: a directory of one layer reports its own link count" {
	mkdir -p "$L2/pure/a" "$L2/pure/b" "$U/up/c"
	ov_mount_both
	ov_diff stat -c '%n %h' pure up
	ov_is "$ov_out" "$(printf 'pure 4\nup 3')"
}

@test "lookup: every file type in a lower layer stats as there" {
	echo data >"$L2/file"
	mkdir "$L2/dir"
	ln -s file "$L2/link"
	ln -s nowhere "$L2/dangling"
	mkfifo "$L2/fifo"
	"$VNOP" mknod "$L2/sock" sock 0640 >/dev/null
	mknod -m 0600 "$L2/chr" c 1 3
	mknod -m 0600 "$L2/blk" b 7 0
	chown 11:12 "$L2/file" "$L2/fifo"
	chown -h 13:14 "$L2/link"
	ov_mount_both
	ov_diff ov_tree .
	ov_diff stat -c '%n %F %a %u %g %s' file dir link dangling fifo sock chr blk
	ov_expect "$(stat -c %.9Y "$L2/file")" stat file mtime
	ov_expect "$(stat -c %.9Y "$L2/fifo")" lstat fifo mtime
	ov_diff cat link
	ov_is "$ov_out" data
	ov_expect ENOENT stat dangling
}

@test "lookup: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG as the kernel's" {
	echo x >"$L2/file"
	ln -s loop1 "$L1/loop2"
	ln -s loop2 "$L3/loop1"
	mkdir "$L3/d"
	ov_mount_both
	ov_expect ENOENT stat missing
	ov_expect ENOENT stat d/missing
	ov_expect ENOTDIR stat file/x
	ov_expect ELOOP stat loop1
	ov_expect 0 lstat loop1
	ov_expect ENAMETOOLONG stat "$(printf 'n%.0s' {1..256})"
	ov_expect ENOENT stat "$(printf 'n%.0s' {1..255})"
	ov_expect ENOENT stat d/.wh.x
}

@test "lookup: fuse-overlayfs .wh.NAME files hide lower objects and are not shown" {
	echo l2 >"$L2/f"
	echo l3 >"$L3/g"
	mkdir -p "$L3/d/sub"
	echo l3 >"$L3/d/sub/x"
	: >"$L1/.wh.f"
	: >"$L2/.wh.d"
	mkdir "$L1/keep" "$L2/keep"
	echo l2 >"$L2/keep/y"
	echo l2 >"$L2/keep/z"
	: >"$L1/keep/.wh.y"
	: >"$U/.wh.g"
	ov_mount_both
	ov_expect ENOENT stat f
	ov_expect ENOENT stat g
	ov_expect ENOENT stat d
	ov_expect ENOENT stat keep/y
	ov_expect ENOENT stat .wh.f
	ov_diff ls -A . keep
	ov_is "$ov_out" "$(printf '.:\nkeep\n\nkeep:\nz')"
	ov_diff ov_tree .
}

@test "lookup: a .wh..wh..opq marker makes its directory opaque" {
	mkdir "$L1/d" "$L2/d" "$U/e" "$L3/e"
	echo l1 >"$L1/d/l1"
	echo l2 >"$L2/d/l2"
	: >"$L1/d/.wh..wh..opq"
	echo l3 >"$L3/e/l3"
	echo u >"$U/e/u"
	: >"$U/e/.wh..wh..opq"
	ov_mount_both
	ov_diff ls -A d e
	ov_is "$ov_out" "$(printf 'd:\nl1\n\ne:\nu')"
	ov_expect ENOENT stat d/.wh..wh..opq
	ov_expect ENOENT stat e/l3
	ov_diff ov_tree .
}

@test "lookup: both whiteout formats mixed over three layers" {
	mkdir -p "$L1/d" "$L2/d" "$L3/d/x"
	echo l3 >"$L3/d/a"
	echo l3 >"$L3/d/b"
	echo l3 >"$L3/d/x/c"
	mknod "$L2/d/a" c 0 0
	: >"$L1/d/.wh.b"
	: >"$L1/d/.wh.x"
	echo l2 >"$L2/d/c"
	echo l1 >"$L1/d/e"
	ov_mount_both
	ov_diff ls -A d
	ov_is "$ov_out" "$(printf 'c\ne')"
	ov_diff ov_tree .
}

@test "lookup: with cache=auto an absent name is asked once, and appears when made through the mount" {
	ov_veneerfs_only "counts the daemon's requests"
	mkdir "$L1/d"
	echo l1 >"$L1/d/lower"
	ov_mount_both --vo debug
	lookups() { grep -c 'opcode: LOOKUP (' "$WORK/veneerfs.log" || true; }
	ov_diff ls d/absent
	before=$(lookups)
	ov_diff ls d/absent
	ov_diff ls d/absent
	ov_is "$(lookups)" "$before"
	ov_diff sh -c 'echo new >d/absent; cat d/absent; rm d/lower; ls d'
	ov_is "$ov_out" "$(printf 'new\nabsent')"
	ov_diff sh -c 'cat d/lower 2>&1 | sed "s/.*: //"'
	ov_is "$ov_out" "No such file or directory"
}
