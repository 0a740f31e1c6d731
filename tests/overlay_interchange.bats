#!/usr/bin/env bats
# veneerfs and the kernel's overlayfs share one on-disk format: each must
# show what the other wrote to an upper layer (copy-ups, whiteouts, opaque
# directories, the kernel's own xattrs), carry on writing it, and read such
# an upper layer as a lower layer. ov_swap mounts veneerfs over the upper
# and workdir the kernel wrote and the kernel over veneerfs'.

load helpers
load overlay

make_layers() {
	local l
	for l in "$L1" "$L2" "$L3"; do
		mkdir -p "$l/md/sub" "$l/${l##*/}dir"
		echo "${l##*/}" >"$l/md/${l##*/}"
		echo "${l##*/}" >"$l/md/sub/common"
	done
	echo lf >"$L1/lf"
	echo lf2 >"$L2/lf2"
	echo lf3 >"$L3/lf3"
	echo rm >"$L2/lrm"
	echo mv >"$L3/lmv"
	echo trunc >"$L1/ltrunc"
	echo time >"$L2/ltime"
	mkdir -p "$L2/ldrm/x" "$L1/ld/sub"
	echo x >"$L2/ldrm/x/y"
	echo x >"$L1/ld/sub/x"
	mknod "$L1/md/l3" c 0 0
	: >"$L1/md/.wh.l2"
	mkdir "$U/md" "$U/updir"
	echo u >"$U/md/u"
	echo u >"$U/updir/u"
}

# Every kind of change, each of which must succeed.
mutate() {
	echo more >>lf &&
		chmod 600 lf2 &&
		chown 5:6 ld/sub/x &&
		setfattr -n user.n -v v lf3 &&
		rm lrm &&
		rm -r ldrm &&
		mkdir ldrm && touch ldrm/new &&
		mv lmv moved &&
		ln lf hard &&
		ln -s target sym &&
		mkfifo fifo &&
		truncate -s 2 ltrunc &&
		mkdir -p newdir/a/b && echo deep >newdir/a/b/f &&
		touch -m -d @1000000000 ltime &&
		rm md/l1 md/u &&
		rm -r md/sub &&
		mkdir md/sub &&
		echo u >>updir/u
}

# More changes, over what mutate did.
mutate_more() {
	echo again >>lf &&
		rm hard moved &&
		mv newdir/a/b/f newdir/f2 &&
		rm -r newdir/a &&
		touch ldrm/second lrm &&
		echo z >md/sub/z &&
		rm -r l1dir &&
		chmod 700 l2dir &&
		setfattr -x user.n lf3
}

@test "interchange: each reads the upper layer the other wrote" {
	make_layers
	ov_mount_both
	ov_ok mutate
	ov_diff ov_tree .
	local before=$ov_out
	ov_swap
	ov_diff ov_tree .
	ov_is "$ov_out" "$before"
	ov_diff ov_dirents check md
	ov_diff ls -A md md/sub ldrm
	ov_is "$ov_out" "$(printf '%s\n' ldrm: new '' md: sub '' md/sub:)"
}

@test "interchange: each carries on where the other left off" {
	make_layers
	ov_mount_both
	ov_ok mutate
	ov_swap
	ov_ok mutate_more
	ov_diff ov_tree .
	local before=$ov_out
	ov_swap
	ov_diff ov_tree .
	ov_is "$ov_out" "$before"
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

@test "interchange: an upper layer the other wrote, used as a lower layer" {
	make_layers
	ov_mount_both
	ov_ok mutate
	ov_diff ov_tree .
	local before=$ov_out
	ov_unmount_both
	mv "$VU" "$WORK/v-upper"
	mv "$KU" "$WORK/k-upper"
	# veneerfs reads the kernel's upper, the kernel veneerfs'
	ov_mount_both --no-upper --lowers "$WORK/k-upper:$L1:$L2:$L3" \
		--klowers "$WORK/v-upper:$L1:$L2:$L3"
	ov_diff ov_tree .
	ov_is "$ov_out" "$before"
	ov_unmount_both
	# and as the lower layer of a new writable overlay
	rm -rf "$U"
	mkdir "$U"
	ov_mount_both --lowers "$WORK/k-upper:$L1:$L2:$L3" \
		--klowers "$WORK/v-upper:$L1:$L2:$L3"
	ov_ok mutate_more
	ov_diff ov_tree .
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

@test "interchange: with userxattr" {
	make_layers
	setfattr -n user.overlay.opaque -v y "$L1/l1dir"
	ov_mount_both -o userxattr
	ov_ok mutate
	ov_diff ov_tree .
	local before=$ov_out
	ov_swap
	ov_diff ov_tree .
	ov_is "$ov_out" "$before"
	ov_ok mutate_more
	ov_swap
	ov_diff ov_tree .
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}

@test "interchange: remounting on the same upper and workdir changes nothing" {
	make_layers
	ov_mount_both
	ov_ok mutate
	ov_diff ov_tree .
	local before=$ov_out
	ov_unmount_both
	ov_mount_again
	ov_diff ov_tree .
	ov_is "$ov_out" "$before"
	ov_unmount_both
	ov_diff_upper ov_tree --upper .
}
