#!/usr/bin/env bats
# Hard links and symlinks on an overlay: link(2) of a lower file copies it
# up first; links in the upper layer share one inode; st_nlink and st_ino
# as the kernel's overlayfs reports them (merged dirs: 1 link). veneerfs
# against the kernel's overlayfs, on the mounts and on disk.

load helpers
load overlay

@test "link: a lower file is copied up, then both names share an inode" {
	echo lower >"$L1/a"
	chmod 0640 "$L1/a"
	mkdir "$L2/d"
	ov_mount_both
	ov_ok ln a b
	ov_ok ln a d/c
	ov_diff stat -c '%n %h %a' a b d/c
	ov_is "$ov_out" "$(printf 'a 3 640\nb 3 640\nd/c 3 640')"
	local m
	for m in "$VM" "$KM"; do
		[ "$(ov_ino "$m/a")" = "$(ov_ino "$m/b")" ]
		[ "$(ov_ino "$m/a")" = "$(ov_ino "$m/d/c")" ]
	done
	ov_ok sh -c 'echo more >>b'
	ov_diff cat a d/c
	ov_is "$ov_out" "$(printf 'lower\nmore\nlower\nmore')"
	ov_compare_all
	ov_is "$(stat -c %h "$VU/a")" 3
	[ "$(stat -c %i "$VU/a")" = "$(stat -c %i "$VU/b")" ]
	[ "$(stat -c %i "$VU/a")" = "$(stat -c %i "$VU/d/c")" ]
}

@test "link: links made in the upper layer, and unlinked again" {
	mkdir "$L1/d"
	ov_mount_both
	ov_ok sh -c 'echo x >f && ln f g && ln f d/h && mkdir e && ln f e/i'
	ov_diff stat -c '%n %h' f g d/h e/i
	ov_is "$ov_out" "$(printf 'f 4\ng 4\nd/h 4\ne/i 4')"
	ov_ok rm g d/h
	ov_diff stat -c '%n %h' f e/i
	ov_is "$ov_out" "$(printf 'f 2\ne/i 2')"
	local m
	for m in "$VM" "$KM"; do
		[ "$(ov_ino "$m/f")" = "$(ov_ino "$m/e/i")" ]
	done
	ov_compare_all
}

@test "link: unlinking the lower name of a linked copy leaves the other" {
	echo lower >"$L1/a"
	ov_mount_both
	ov_ok ln a b
	ov_ok rm a
	ov_diff stat -c '%n %h' b
	ov_is "$ov_out" "b 1"
	ov_expect ENOENT stat a
	ov_diff cat b
	ov_is "$ov_out" lower
	ov_compare_all
	ov_is "$(stat -c '%F %t:%T' "$VU/a")" "character special file 0:0"
}

@test "link: hard links inside a lower layer" {
	echo shared >"$L2/x"
	ln "$L2/x" "$L2/y"
	mkdir "$L2/d"
	ln "$L2/x" "$L2/d/z"
	ov_mount_both
	ov_diff stat -c '%n %h' x y d/z
	ov_is "$ov_out" "$(printf 'x 3\ny 3\nd/z 3')"
	local m
	for m in "$VM" "$KM"; do
		[ "$(ov_ino "$m/x")" = "$(ov_ino "$m/y")" ]
	done
	# without an index, copy-up breaks the link: the other names keep
	# the lower data
	ov_ok sh -c 'echo changed >>x'
	ov_diff cat x y d/z
	ov_is "$ov_out" "$(printf 'shared\nchanged\nshared\nshared')"
	ov_diff stat -c '%n %h' x y d/z
	ov_compare_all
}

@test "link: errors as the kernel's" {
	echo l1 >"$L1/f"
	mkdir "$L1/d"
	echo l2 >"$L2/g"
	mknod "$U/gone" c 0 0
	echo l3 >"$L3/gone"
	ov_mount_both
	ov_expect EEXIST link f g
	ov_expect EPERM link d d2
	ov_expect ENOENT link missing x
	ov_expect ENOENT link gone x
	ov_expect ENOENT link f nodir/x
	ov_expect 0 link f gone
	ov_diff cat gone
	ov_is "$ov_out" l1
	ov_compare_all
}

@test "link: symlinks, made and linked" {
	echo target >"$L1/t"
	ln -s t "$L1/lower-link"
	ov_mount_both
	ov_ok ln -s t new-link
	ov_ok ln -s "$(printf 'x%.0s' {1..4000})" long-link
	ov_ok ln lower-link hard-to-symlink
	ov_diff stat -c '%n %F %h' lower-link hard-to-symlink new-link
	ov_is "$ov_out" "$(printf 'lower-link symbolic link 2\nhard-to-symlink symbolic link 2\nnew-link symbolic link 1')"
	ov_diff cat hard-to-symlink new-link
	ov_is "$ov_out" "$(printf 'target\ntarget')"
	ov_expect 4000 lstat long-link size
	ov_compare_all
}

@test "nlink: merged dirs report 1, single-layer dirs their own count" {
	mkdir -p "$L1/m/a" "$L2/m/b" "$L2/lower/x" "$L2/lower/y" "$U/up/z"
	ov_mount_both
	ov_diff stat -c '%n %h' . m lower up
	ov_is "$ov_out" "$(printf '. 1\nm 1\nlower 4\nup 3')"
	ov_ok mkdir lower/new up/new
	ov_diff stat -c '%n %h' lower up
	ov_ok rmdir up/new
	ov_diff stat -c '%n %h' up
	ov_is "$ov_out" "up 3"
}

@test "ino: every object has its own st_ino, kept while mounted" {
	local l i
	for l in "$U" "$L1" "$L2" "$L3"; do
		mkdir -p "$l/d/${l##*/}"
		for i in 1 2 3; do
			echo "$i" >"$l/d/${l##*/}/f$i"
			echo "$i" >"$l/top-${l##*/}-$i"
		done
		echo "${l##*/}" >"$l/d/common"
	done
	ov_mount_both
	ov_diff sh -c 'find . -printf "%D:%i\n" | sort | uniq -d'
	ov_is "$ov_out" ""
	local m first
	for m in "$VM" "$KM"; do
		first=$(cd "$m" && find . -printf '%p %i\n' | sort)
		# drop the kernel's caches; the numbers stay
		echo 2 >/proc/sys/vm/drop_caches
		ov_is "$(cd "$m" && find . -printf '%p %i\n' | sort)" "$first"
	done
}

@test "link: a copied-up name of a lower hard link has its own inode" {
	echo x >"$L1/d"
	ln "$L1/d" "$L1/e"
	ov_mount_both
	ov_ok mv d f
	# At once, not only when cached attributes expire.
	ov_diff stat -c '%n %h' e f
	ov_is "$ov_out" "$(printf 'e 2\nf 1')"
	local m
	for m in "$VM" "$KM"; do
		[ "$(stat -c %i "$m/e")" != "$(stat -c %i "$m/f")" ]
	done
	ov_compare_all
}

@test "link: a link made over a whiteout leaves the file's group alone" {
	mkdir "$L1/p"
	echo x >"$L1/p/x"
	echo f >"$L1/f"
	ov_mount_both
	# A setgid parent of another group, and a whiteout where the link goes.
	ov_ok sh -c 'chgrp 65534 p && chmod 2775 p && rm p/x && ln f p/x'
	ov_diff stat -c '%n %g %h' f p/x
	ov_is "$ov_out" "$(printf 'f 0 2\np/x 0 2')"
	ov_compare_all
}
