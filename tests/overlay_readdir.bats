#!/usr/bin/env bats
# Merged readdir: every visible name once, "." and ".." once, nothing that
# a whiteout or an opaque directory hides, d_ino equal to st_ino, and
# telldir/seekdir/rewinddir that find the same entries again. veneerfs and
# the kernel's overlayfs over the same layers must list the same. (d_ino is
# checked on veneerfs alone: the kernel keeps it equal to st_ino only in
# directories it marked "impure" itself, not in layers made by hand.)

load helpers
load overlay

# Entries of DIR as "name d_type", sorted: d_type must agree, d_ino is
# checked on each side by `ov_dirents check`.
names_types() {
	ov_dirents list "$1" | cut -d' ' -f2- | sort -k2
}

# A merged directory with the same names in several layers, whiteouts of
# both kinds and opaque subdirectories.
make_merged() {
	local l
	for l in "$U" "$L1" "$L2" "$L3"; do
		mkdir -p "$l/d/sub"
		echo "${l##*/}" >"$l/d/common"
		echo "${l##*/}" >"$l/d/sub/common"
		echo "${l##*/}" >"$l/d/only-${l##*/}"
	done
	echo l3 >"$L3/d/hidden1"
	echo l3 >"$L3/d/hidden2"
	mknod "$L2/d/hidden1" c 0 0
	mknod "$U/d/hidden2" c 0 0
	mknod "$U/d/never" c 0 0
	mkdir "$L1/d/opq" "$L3/d/opq"
	echo l3 >"$L3/d/opq/below"
	echo l1 >"$L1/d/opq/above"
	setfattr -n trusted.overlay.opaque -v y "$L1/d/opq"
	mkdir -p "$L2/d/lower-only/x" "$U/d/upper-only/y"
	ln -s common "$L3/d/link"
	mkfifo "$L2/d/fifo"
	mknod "$L1/d/chr" c 1 3
}

@test "readdir: each name once, . and .. once, hidden names left out" {
	make_merged
	ov_mount_both
	ov_diff ls -A d d/sub d/opq
	ov_is "$ov_out" "$(printf '%s\n' d: chr common fifo link lower-only \
		only-l1 only-l2 only-l3 only-u opq sub upper-only '' \
		d/opq: above '' d/sub: common)"
	ov_diff ov_dirents check d
	ov_is "$ov_out" "entries 14 distinct 14 dot 1 dotdot 1"
	ov_diff ov_dirents check d/sub
	ov_is "$ov_out" "entries 3 distinct 3 dot 1 dotdot 1"
	ov_diff ov_dirents check d/opq
	ov_is "$ov_out" "entries 3 distinct 3 dot 1 dotdot 1"
	ov_diff names_types d
}

@test "readdir: d_ino equals st_ino in merged, lower, upper and copied-up dirs" {
	ov_veneerfs_only "the kernel's d_ino differs in dirs it did not mark"
	make_merged
	ov_mount_both
	local d
	for d in . d d/sub d/opq d/lower-only d/upper-only d/lower-only/x; do
		ov_is "$(ov_dirents dino "$VM/$d")" ""
	done
	# copy some entries up, add new ones, then again
	ov_ok sh -c 'echo more >>d/only-l3 && chmod 700 d/lower-only &&
		touch d/new && mkdir d/newdir && ln d/only-l2 d/hardlink &&
		chown 5:5 d/link && rm d/only-l1 && mv d/common d/moved'
	for d in . d d/lower-only d/newdir d/upper-only; do
		ov_is "$(ov_dirents dino "$VM/$d")" ""
	done
	# 12 names, 3 added, 1 removed, 1 moved
	ov_diff ov_dirents check d
	ov_is "$ov_out" "entries 16 distinct 16 dot 1 dotdot 1"
}

@test "readdir: d_type is the file type" {
	make_merged
	ov_mount_both
	ov_diff names_types d
	ov_is "$(printf '%s\n' "$ov_out" | grep -E ' (chr|fifo|link|sub)$')" \
		"$(printf '2 chr\n1 fifo\n10 link\n4 sub')"
}

@test "readdir: 50,000 entries over three lowers and the upper" {
	# L3: f00000-f29999, L2: f25000-f44999 and whiteouts of f00000-f04999,
	# L1: f40000-f54999, upper: f60000-f60099 and whiteouts of
	# f10000-f10099: 50,000 names in all. The lowers are on tmpfs, where
	# they are made in a fraction of the time ext4 takes.
	ov_tmpfs "$L1"
	ov_tmpfs "$L2"
	ov_tmpfs "$L3"
	"$OV_PY" - "$L1/big" "$L2/big" "$L3/big" "$U/big" <<'EOF'
import os, sys
l1, l2, l3, u = sys.argv[1:]
for d in (l1, l2, l3, u):
    os.mkdir(d)
def files(d, lo, hi):
    for i in range(lo, hi):
        os.mknod('%s/f%05d' % (d, i), 0o100644)
def whiteouts(d, lo, hi):
    for i in range(lo, hi):
        os.mknod('%s/f%05d' % (d, i), 0o600 | 0o020000, 0)
files(l3, 0, 30000)
files(l2, 25000, 45000)
whiteouts(l2, 0, 5000)
files(l1, 40000, 55000)
files(u, 60000, 60100)
whiteouts(u, 10000, 10100)
EOF
	ov_mount_both
	count() {
		"$OV_PY" -c 'import os, hashlib, sys
n = os.listdir(sys.argv[1])
print(len(n), len(set(n)), hashlib.md5("\n".join(sorted(n)).encode()).hexdigest())' "$1"
	}
	ov_diff count big
	ov_is "${ov_out%% *}" 50000
	ov_diff sh -c 'ls -U big | wc -l'
	ov_is "$ov_out" 50000
	ov_diff ov_dirents check big
	ov_is "$ov_out" "entries 50002 distinct 50002 dot 1 dotdot 1"
	ov_diff ov_dirents seek big
	ov_is "$ov_out" "ok 50002"
	# and after changes through the mount
	ov_ok sh -c 'rm big/f05007 big/f41000 big/f60000 &&
		touch big/f00001 big/new && mv big/f30000 big/moved'
	ov_diff count big
	ov_is "${ov_out%% *}" 49999
}

@test "readdir: telldir, seekdir and rewinddir find the same entries" {
	make_merged
	local i layers=("$L1" "$L2" "$L3")
	for i in $(seq 1 150); do
		: >"${layers[i % 3]}/d/many$i"
	done
	mknod "$L1/d/many2" c 0 0 # hides the one in L3
	ov_mount_both
	ov_diff ov_dirents seek d
	ov_is "$ov_out" "ok 163"
	ov_diff ov_dirents seek d/sub
	ov_is "$ov_out" "ok 3"
	ov_diff ov_dirents seek .
	ov_is "$ov_out" "ok 3"
}

@test "readdir: listings follow changes made through the mount" {
	make_merged
	ov_mount_both
	step() {
		"$@" || return
		ls -A d
		ov_dirents check d
	}
	ov_diff step rm d/only-l3
	ov_diff step rm d/common
	ov_diff step rm -r d/lower-only
	ov_diff step rm -r d/sub
	ov_diff step mkdir d/sub
	ov_diff step touch d/common d/new
	ov_diff step mv d/only-l2 d/renamed
	ov_diff step ln -s x d/hidden1
	ov_diff step mkdir d/lower-only
	ov_diff ls -A d/sub d/lower-only
	ov_is "$ov_out" "$(printf 'd/lower-only:\n\nd/sub:')"
	ov_diff ov_tree .
}

@test "readdir: ls -l of an untouched tree shows the same attributes and times" {
	make_merged
	touch -d '2001-02-03 04:05:06.789' "$L2/d/only-l2" "$L3/d/opq/below"
	ov_mount_both
	# directory sizes may differ (and readdir order); all else, mtimes
	# included, may not
	ov_diff sh -c 'find . -printf "%p %y %M %n %U %G %TY-%Tm-%Td+%TT\n" |
		sort'
	ov_diff sh -c 'ls -ln --time-style=+%s.%N d | grep -v "^d"'
}

@test "readdir: an empty merged dir lists only . and .." {
	mkdir "$L1/e" "$L2/e" "$U/e"
	echo x >"$L2/e/gone"
	mknod "$U/e/gone" c 0 0
	mkdir "$L3/o" "$U/o"
	echo x >"$L3/o/x"
	: >"$U/o/.wh..wh..opq"
	ov_mount_both
	ov_diff ls -A e o
	ov_is "$ov_out" "$(printf 'e:\n\no:')"
	ov_diff ov_dirents check e
	ov_is "$ov_out" "entries 2 distinct 2 dot 1 dotdot 1"
	ov_diff ov_dirents check o
	ov_is "$ov_out" "entries 2 distinct 2 dot 1 dotdot 1"
}
