#!/usr/bin/env bats
# rename(2) and renameat2(2) across layers: a lower file is copied up and
# its old name whited out; a lower or merged directory cannot move (EXDEV,
# as the kernel without redirect_dir), a directory of the upper layer alone
# can; RENAME_NOREPLACE and RENAME_EXCHANGE. veneerfs against the kernel's
# overlayfs, on the mounts and on disk.

load helpers
load overlay

# Files and dirs in every kind of place.
make_layers() {
	echo lower >"$L1/lf"
	echo lower2 >"$L2/lf2"
	chmod 0600 "$L2/lf2"
	setfattr -n user.x -v 1 "$L2/lf2"
	echo upper >"$U/uf"
	echo l3 >"$L3/both"
	echo u >"$U/both"
	mkdir -p "$L1/ld/sub" "$L2/md" "$U/md" "$U/ud/sub" "$L3/emptyld"
	echo x >"$L1/ld/sub/x"
	echo m >"$L2/md/m"
	echo y >"$U/ud/sub/y"
	mkdir "$L1/d1" "$L2/d2"
	echo in1 >"$L1/d1/f"
}

@test "rename: a lower file is copied up and its old name whited out" {
	make_layers
	ov_mount_both
	ov_ok mv lf moved
	ov_ok mv lf2 d2/lf2
	ov_ok mv d1/f d2/g
	ov_expect ENOENT stat lf
	ov_diff cat moved d2/lf2 d2/g
	ov_is "$ov_out" "$(printf 'lower\nlower2\nin1')"
	ov_diff stat -c '%n %a %u %g' d2/lf2
	ov_diff getfattr -n user.x --only-values d2/lf2
	ov_is "$ov_out" 1
	ov_compare_all
	ov_is "$(stat -c '%F %t:%T' "$VU/lf" "$VU/d1/f")" \
		"$(printf 'character special file 0:0\ncharacter special file 0:0')"
}

@test "rename: over files of every layer" {
	make_layers
	echo l2 >"$L2/target2"
	ov_mount_both
	ov_ok mv uf lf           # upper over lower: the whiteout is not needed
	ov_ok mv lf2 both        # lower over upper-and-lower
	ov_ok mv target2 uf      # lower onto a name that is free again
	ov_diff cat lf both uf
	ov_is "$ov_out" "$(printf 'upper\nlower2\nl2')"
	ov_diff ls -A
	ov_compare_all
}

@test "rename: onto a whited-out name and back" {
	make_layers
	echo l3 >"$L3/wh"
	mknod "$L1/wh" c 0 0
	ov_mount_both
	ov_ok mv uf wh
	ov_ok mv wh uf
	ov_ok mv lf wh
	ov_ok rm both
	ov_ok mv wh both
	ov_diff ls -A
	ov_diff cat both
	ov_is "$ov_out" lower
	ov_compare_all
}

@test "rename: a lower or merged dir gives EXDEV, an upper dir moves" {
	make_layers
	ov_mount_both
	ov_expect EXDEV rename ld ld2
	ov_expect EXDEV rename md md2
	ov_expect EXDEV rename emptyld x
	ov_expect EXDEV rename ld/sub d2/sub
	ov_expect 0 rename ud ud2
	ov_expect 0 rename ud2/sub d2/sub
	ov_diff cat d2/sub/y
	ov_is "$ov_out" y
	ov_ok mkdir new
	ov_expect 0 rename new md/new
	# mv copies what rename refuses
	ov_ok mv ld moved
	ov_diff ls -A moved moved/sub
	ov_is "$ov_out" "$(printf 'moved:\nsub\n\nmoved/sub:\nx')"
	ov_compare_all
}

@test "rename: a dir made over a whiteout is an upper dir and moves" {
	make_layers
	ov_mount_both
	ov_ok rm -r ld
	ov_ok mkdir ld
	ov_ok touch ld/new
	ov_expect 0 rename ld ld-moved
	ov_diff ls -A ld-moved
	ov_is "$ov_out" new
	ov_expect ENOENT stat ld
	ov_compare_all
}

@test "rename: an upper dir over an empty lower dir becomes opaque" {
	make_layers
	mkdir "$L2/emptymerged" "$U/emptymerged"
	echo x >"$L2/emptymerged/gone"
	mknod "$U/emptymerged/gone" c 0 0
	ov_mount_both
	ov_ok mkdir a b
	ov_ok touch a/in-a b/in-b
	ov_expect 0 rename a emptyld
	ov_expect 0 rename b emptymerged
	ov_diff ls -A emptyld emptymerged
	ov_is "$ov_out" "$(printf 'emptyld:\nin-a\n\nemptymerged:\nin-b')"
	ov_compare_all
	ov_mount_again
	ov_diff ls -A emptyld emptymerged
	ov_is "$ov_out" "$(printf 'emptyld:\nin-a\n\nemptymerged:\nin-b')"
}

@test "rename: RENAME_NOREPLACE" {
	make_layers
	echo l3 >"$L3/wh"
	mknod "$L2/wh" c 0 0
	ov_mount_both
	ov_expect EEXIST renameat2 uf lf NOREPLACE
	ov_expect EEXIST renameat2 lf uf NOREPLACE
	ov_expect EEXIST renameat2 lf2 both NOREPLACE
	ov_expect EEXIST renameat2 ud md NOREPLACE
	ov_expect 0 renameat2 uf wh NOREPLACE
	ov_expect 0 renameat2 lf fresh NOREPLACE
	ov_ok rm lf2
	ov_expect 0 renameat2 fresh lf2 NOREPLACE
	ov_diff cat wh lf2
	ov_is "$ov_out" "$(printf 'upper\nlower')"
	ov_compare_all
}

@test "rename: RENAME_EXCHANGE" {
	make_layers
	echo l3 >"$L3/other"
	ov_mount_both
	ov_expect 0 renameat2 lf uf EXCHANGE       # lower and upper
	ov_expect 0 renameat2 lf2 other EXCHANGE   # two lower files
	ov_expect 0 renameat2 both d1/f EXCHANGE   # across dirs
	ov_expect ENOENT renameat2 lf missing EXCHANGE
	ov_diff cat lf uf lf2 other both d1/f
	ov_is "$ov_out" "$(printf 'upper\nlower\nl3\nlower2\nin1\nu')"
	ov_ok mkdir u1 u2
	ov_ok touch u1/a u2/b
	ov_expect 0 renameat2 u1 u2 EXCHANGE       # two upper dirs
	ov_diff ls u1 u2
	ov_is "$ov_out" "$(printf 'u1:\nb\n\nu2:\na')"
	ov_expect EXDEV renameat2 ud ld EXCHANGE   # upper and lower dir
	ov_expect 0 renameat2 lf ud EXCHANGE       # a file and an upper dir
	ov_diff ls -A lf ud
	ov_is "$ov_out" "$(printf 'ud\n\nlf:\nsub')"
	ov_compare_all
}

@test "rename: errors as the kernel's" {
	make_layers
	ov_mount_both
	ov_expect ENOENT rename missing x
	ov_expect ENOENT rename lf nodir/x
	ov_expect ENOTDIR rename lf lf2/x
	ov_expect EISDIR rename lf ud
	ov_expect ENOTDIR rename ud lf
	ov_ok mkdir full
	ov_ok touch full/x
	ov_expect ENOTEMPTY rename ud full
	ov_expect EINVAL rename ud ud/sub/into
	ov_expect EXDEV rename ld ud
	ov_expect EINVAL renameat2 lf x WHITEOUT
	ov_diff ov_tree .
	# Before its ENOTEMPTY the kernel marks ud opaque, as for a dir moved
	# into a merged one; nothing else of the failed calls is on disk.
	ov_unmount_both
	upper_but_ud_opaque() {
		ov_tree --upper . |
			sed 's/^\(\.\/ud dir .*\) trusted\.overlay\.opaque=y$/\1/'
	}
	ov_diff_upper upper_but_ud_opaque
}

@test "rename: onto itself or another link of it changes nothing" {
	make_layers
	ov_mount_both
	ov_expect 0 rename lf lf
	ov_expect 0 rename ld ld
	ov_expect 0 rename uf uf
	ov_ok ln uf uf-link
	ov_expect 0 rename uf uf-link
	ov_diff stat -c '%n %h' uf uf-link
	ov_is "$ov_out" "$(printf 'uf 2\nuf-link 2')"
	ov_compare_all
}

@test "rename: st_ino moves with the file" {
	make_layers
	ov_mount_both
	local m before after
	for m in "$VM" "$KM"; do
		before=$(stat -c %i "$m/lf" "$m/lf2" "$m/ud")
		mv "$m/lf" "$m/a"
		mv "$m/lf2" "$m/d2/b"
		mv "$m/ud" "$m/c"
		after=$(stat -c %i "$m/a" "$m/d2/b" "$m/c")
		ov_is "$after" "$before"
	done
}

@test "rename: a file held open keeps reading after it moves" {
	make_layers
	ov_mount_both
	ov_expect "$(printf '0\n0\n6\n0\n7')" \
		open lf O_RDONLY : rename lf d1/g : read %0 0 100 : \
		rename lf2 d1/g : read d1/g 0 100
}
