#!/usr/bin/env bats
# Removing what a lower layer holds leaves a whiteout (a char 0/0 device)
# in the upper layer; removing what only the upper holds leaves nothing.
# rmdir of a merged directory needs it empty in every layer; a directory
# made where a whiteout was is opaque. Checked on the mounts (veneerfs
# against the kernel's overlayfs) and on disk in the upper layers.

load helpers
load overlay

# "TYPE MAJOR:MINOR" of PATH on disk, e.g. in an upper layer.
disk_type() {
	stat -c '%F %t:%T' -- "$1"
}

@test "whiteout: unlink of a lower file leaves a char 0/0 whiteout" {
	echo l1 >"$L1/f"
	echo l3 >"$L3/g"
	echo l2 >"$L2/h"
	echo l3 >"$L3/h"
	ln -s f "$L2/link"
	mkfifo "$L3/fifo"
	ov_mount_both
	ov_ok rm f g h link fifo
	ov_expect ENOENT stat f
	ov_expect ENOENT lstat link
	ov_expect ENOENT unlink h
	ov_diff ls -A
	ov_is "$ov_out" ""
	ov_compare_all
	local n
	for n in f g h link fifo; do
		ov_is "$(disk_type "$VU/$n")" "character special file 0:0"
	done
}

@test "whiteout: unlink of an upper-only file leaves nothing" {
	echo u >"$U/pre"
	ov_mount_both
	ov_ok sh -c 'echo new >new && mkdir d && touch d/x && rm new pre d/x'
	ov_diff ls -A
	ov_is "$ov_out" d
	ov_compare_all
	ov_is "$(ov_tree --upper "$VU")" "$(printf '. dir 0755 0:0 n3\n./d dir 0755 0:0 n2')"
}

@test "whiteout: unlink of a copied-up file leaves a whiteout" {
	echo l1 >"$L1/f"
	echo u >"$U/g"
	echo l2 >"$L2/g"
	ov_mount_both
	ov_ok sh -c 'echo more >>f && rm f g'
	ov_expect ENOENT stat f
	ov_expect ENOENT stat g
	ov_compare_all
	ov_is "$(disk_type "$VU/f")" "character special file 0:0"
	ov_is "$(disk_type "$VU/g")" "character special file 0:0"
}

@test "whiteout: an open file keeps its data after unlink" {
	echo l1 >"$L1/f"
	ov_mount_both
	ov_expect "$(printf '0\n0\n3\n3\nENOENT')" \
		open f O_RDONLY : unlink f : read %0 0 10 : fstat %0 size : stat f
}

@test "whiteout: rmdir of a lower dir leaves a whiteout" {
	mkdir "$L1/empty" "$L2/empty" "$L3/lone"
	ov_mount_both
	ov_ok rmdir empty lone
	ov_expect ENOENT stat empty
	ov_diff ls -A
	ov_is "$ov_out" ""
	ov_compare_all
	ov_is "$(disk_type "$VU/empty")" "character special file 0:0"
	ov_is "$(disk_type "$VU/lone")" "character special file 0:0"
}

@test "whiteout: rmdir of a merged dir and ENOTEMPTY" {
	mkdir -p "$L1/d" "$L2/d" "$U/d" "$L3/full"
	echo l2 >"$L2/d/x"
	echo u >"$U/d/y"
	echo l3 >"$L3/full/z"
	mkdir "$L1/hidden" "$L2/hidden"
	echo l2 >"$L2/hidden/gone"
	mknod "$L1/hidden/gone" c 0 0
	mkdir "$L1/opq" "$L3/opq"
	echo l3 >"$L3/opq/below"
	setfattr -n trusted.overlay.opaque -v y "$L1/opq"
	mkdir -p "$U/whited" "$L2/whited"
	echo l2 >"$L2/whited/w"
	mknod "$U/whited/w" c 0 0
	ov_mount_both
	ov_expect ENOTEMPTY rmdir d
	ov_expect ENOTEMPTY rmdir full
	ov_expect 0 rmdir hidden   # what is in it is whited out below
	ov_expect 0 rmdir opq      # what is under it is hidden
	ov_expect 0 rmdir whited   # only whiteouts in its upper dir
	ov_expect ENOTDIR rmdir d/y
	ov_ok rm d/x d/y
	ov_expect 0 rmdir d
	ov_expect ENOENT rmdir d
	ov_diff ls -A
	ov_is "$ov_out" full
	ov_compare_all
}

@test "whiteout: rm -r of a merged tree" {
	local l
	for l in "$U" "$L1" "$L2" "$L3"; do
		mkdir -p "$l/t/a/b" "$l/t/${l##*/}"
		echo "${l##*/}" >"$l/t/a/b/${l##*/}"
		echo "${l##*/}" >"$l/t/a/common"
	done
	mknod "$L1/t/a/b/l2" c 0 0
	ov_mount_both
	ov_ok rm -r t
	ov_expect ENOENT stat t
	ov_compare_all
	ov_is "$(disk_type "$VU/t")" "character special file 0:0"
}

@test "whiteout: a file made over a whiteout has none of the lower one" {
	printf 'lower data\n' >"$L1/f"
	chmod 0600 "$L1/f"
	chown 5:6 "$L1/f"
	setfattr -n user.old -v 1 "$L1/f"
	echo l2 >"$L2/s"
	echo l2 >"$L2/p"
	mknod "$U/w" c 0 0
	echo l3 >"$L3/w"
	ov_mount_both
	ov_ok rm f s p
	ov_ok sh -c 'echo new >f && ln -s target s && mkfifo p && echo w >w'
	ov_diff stat -c '%n %F %a %u %g %s' f s p w
	ov_is "$ov_out" "$(printf 'f regular file 644 0 0 4\ns symbolic link 777 0 0 6\np fifo 644 0 0 0\nw regular file 644 0 0 2')"
	ov_expect ENODATA getxattr f user.old
	ov_compare_all
	ov_is "$(disk_type "$VU/f")" "regular file 0:0"
}

@test "whiteout: a dir made over a whiteout is opaque" {
	mkdir -p "$L1/d/sub" "$L2/d"
	echo l1 >"$L1/d/sub/x"
	echo l2 >"$L2/d/y"
	echo l3 >"$L3/f"
	mkdir "$L2/e"
	echo l2 >"$L2/e/z"
	mknod "$U/e" c 0 0
	ov_mount_both
	ov_ok rm -r d f
	ov_ok mkdir d f e
	ov_diff ls -A d f e
	ov_is "$ov_out" "$(printf 'd:\n\ne:\n\nf:')"
	ov_ok sh -c 'touch d/new && mkdir d/sub'
	ov_diff ls -A d d/sub
	ov_is "$ov_out" "$(printf 'd:\nnew\nsub\n\nd/sub:')"
	ov_compare_all
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$VU/d")" = y ]
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$VU/e")" = y ]
	# and it stays opaque when mounted again
	ov_mount_again
	ov_diff ls -A d e
	ov_is "$ov_out" "$(printf 'd:\nnew\nsub\n\ne:')"
}

@test "whiteout: a dir made where nothing was below is not opaque" {
	mkdir "$L1/lower"
	ov_mount_both
	ov_ok mkdir fresh lower/fresh
	ov_compare_all
	[ -z "$(getfattr --absolute-names -d -m '^trusted.overlay.opaque$' "$VU/fresh" "$VU/lower/fresh")" ]
}

@test "whiteout: a hidden name cannot be reached" {
	echo l2 >"$L2/gone"
	mknod "$L1/gone" c 0 0
	mkdir "$L3/dir"
	mknod "$U/dir" c 0 0
	ov_mount_both
	ov_expect ENOENT unlink gone
	ov_expect ENOENT rmdir dir
	ov_expect ENOENT open gone O_RDONLY
	ov_expect ENOENT chmod gone 0600
	ov_expect ENOENT rename gone x
	ov_expect ENOENT link gone x
	ov_expect ENOENT getxattr gone user.x
	ov_expect ENOENT stat dir/anything
	ov_expect ENOENT mkdir dir/sub 0755
	ov_compare_all
}

@test "whiteout: no whiteout can be made through the mount" {
	echo l1 >"$L1/f"
	ov_mount_both
	ov_expect EPERM mknod new char 0600 0 0
	ov_expect ENOENT stat new
	ov_expect 0 mknod other char 0600 0 1
	ov_diff ls -A
	ov_is "$ov_out" "$(printf 'f\nother')"
	ov_compare_all
}

@test "whiteout: unlink in a dir that only a lower layer has" {
	mkdir -p "$L3/a/b/c"
	echo x >"$L3/a/b/c/f"
	chmod 0750 "$L3/a/b"
	chown 4:5 "$L3/a/b"
	ov_mount_both
	ov_ok rm a/b/c/f
	ov_diff ls -A a/b/c
	ov_is "$ov_out" ""
	ov_compare_all
	ov_is "$(stat -c '%a %u %g' "$VU/a/b")" "750 4 5"
}

@test "whiteout: .wh. whiteouts in a lower layer can be replaced" {
	echo l2 >"$L2/f"
	: >"$L1/.wh.f"
	mkdir "$L3/d"
	echo l3 >"$L3/d/x"
	: >"$L2/.wh.d"
	ov_mount_both
	ov_expect ENOENT stat f
	ov_ok sh -c 'echo new >f && mkdir d'
	ov_diff ls -A . d
	ov_is "$ov_out" "$(printf '.:\nd\nf\n\nd:')"
	ov_ok rm f
	ov_expect ENOENT stat f
	ov_diff ov_tree .
}

@test "whiteout: with whiteout=files, .wh. files do what devices do" {
	ov_veneerfs_only "a veneerfs option"
	mkdir -p "$L1/d/sub" "$L2/d/sub" "$L2/gone" "$L2/m/x"
	echo l1 >"$L1/f"
	echo l2 >"$L2/d/sub/g"
	echo l1 >"$L1/d/h"
	echo l2 >"$L2/mv"
	echo x >"$L2/m/x/y"
	ov_mount_both --vo whiteout=files
	ov_ok sh -c 'rm f d/h && rmdir gone && rm -r m && mkdir m &&
		touch m/new && echo new >f && mv mv moved &&
		rm -r d/sub && echo again >d/h'
	ov_diff ov_tree .
	ov_diff ls -A . m d
	ov_unmount_both
	# veneerfs' upper layer holds .wh. files and no device at all.
	[ -z "$(find "$VU" -type c)" ]
	[ -f "$VU/.wh.gone" ]
	[ -f "$VU/.wh.mv" ]
	[ -f "$VU/d/.wh.sub" ]
	[ ! -e "$VU/.wh.f" ]
	[ ! -e "$VU/d/.wh.h" ]
	[ ! -e "$VU/.wh.m" ]
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$VU/m")" = y ]
	# Mounted again, each reads the upper layer it wrote as it left it.
	ov_mount_again
	ov_diff ov_tree .
	ov_ok rm moved m/new
	ov_diff ov_tree .
}

@test "whiteout: nothing made in the work dir inherits from where it lies" {
	# Work dirs below a setgid directory with a default ACL: what is made
	# there and moved into the upper layer must not carry either.
	mkdir -p "$L1/a/b" "$L1/c"
	chmod g+s "$WORK"
	setfacl -d -m u:65534:rwx "$WORK"
	ov_mount_both
	ov_ok sh -c 'rmdir a/b && mkdir a/b && touch a/f && chmod 700 c'
	ov_diff stat -c '%n %a %g' a a/b a/f c
	ov_diff getfacl -cp a/b a/f c
	ov_compare_all
}
