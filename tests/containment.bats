#!/usr/bin/env bats
# Containment: the daemon never follows a symlink inside SOURCE, so nothing
# outside SOURCE is read or written by it, even when a directory the kernel
# already knows is swapped for a symlink behind its back.
#
# The kernel itself follows symlinks on the mount side, relative to the
# caller's root, as it would on any filesystem: that is the caller's doing.
# So the swap tests work through handles the kernel already holds (an open
# directory fd, or a dentry cached by cache=always and pinned by an O_PATH
# fd), where every name is resolved by the daemon inside its own node.
# Every name they use is unique to the test (vn-escape-*), so any copy of
# one found outside SOURCE was put there by following the symlink.
#
# Where the daemon answers ESTALE, the kernel looks the path up again and
# then follows the new symlink itself, as the caller. To tell that apart
# from the daemon following it, the mount point is one level deeper than
# SOURCE, and the symlinks are relative ("../outside"): from SOURCE that
# is $OUT, from the mount side it is $CALLER_OUT. The daemon must never
# change $OUT; the caller may change $CALLER_OUT.

load helpers

# swap.py: get a handle on DIR/d, replace d by a symlink to TARGET
# directly in SWAPDIR (mv: d moved to d.old; rm: d deleted), then work
# through the handle and print each operation's result.
#   swap.py fd|path DIR SWAPDIR mv|rm TARGET N [EVICTDIR DAEMONPID]
# fd:   the handle is an open directory fd, used with *at() calls.
# path: the handle is DIR/d's cached dentry, pinned by an O_PATH fd;
#       operations use paths DIR/d/NAME.
# EVICTDIR: stat every file in it before the swap, so that a daemon with
# a small fd cache drops d's fd; prints whether it still holds one.
SWAPPY='
import errno, os, sys
mode, top, swapdir, how, target, n = sys.argv[1:7]
evict = sys.argv[7:9]
d = os.path.join(top, "d")
if mode == "fd":
    h = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    kw, p = {"dir_fd": h}, (lambda name: name)
    kw2 = {"src_dir_fd": h, "dst_dir_fd": h}
else:
    h = os.open(d, os.O_PATH)
    kw, kw2, p = {}, {}, (lambda name: os.path.join(d, name))
if evict:
    for f in os.listdir(evict[0]):
        os.stat(os.path.join(evict[0], f))
    real = os.path.join(swapdir, "d")
    held = []
    for fd in os.listdir("/proc/%s/fd" % evict[1]):
        try:
            held.append(os.readlink("/proc/%s/fd/%s" % (evict[1], fd)))
        except OSError:
            pass
    print("daemon holds d:", "yes" if real in held else "no")
src = os.path.join(swapdir, "d")
if how == "mv":
    os.rename(src, src + ".old")
else:
    for f in os.listdir(src):
        path = os.path.join(src, f)
        (os.rmdir if os.path.isdir(path) else os.unlink)(path)
    os.rmdir(src)
os.symlink(target, src)

def step(name, fn):
    try:
        r = fn()
        print(name + ": OK" + ("" if r is None else " " + str(r)))
    except OSError as e:
        print(name + ": " + errno.errorcode[e.errno])

def create():
    fd = os.open(p(n + ".new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, **kw)
    os.write(fd, b"made through the old handle\n")
    os.close(fd)

def overwrite():
    fd = os.open(p(n + ".victim"), os.O_WRONLY | os.O_TRUNC, **kw)
    os.write(fd, b"overwritten\n")
    os.close(fd)

def read():
    fd = os.open(p(n + ".victim"), os.O_RDONLY, **kw)
    data = os.read(fd, 100)
    os.close(fd)
    return data.decode().strip()

def setxattr():
    fd = os.open(p(n + ".victim"), os.O_RDONLY, **kw)
    try:
        os.setxattr(fd, "user.escape", b"1")
    finally:
        os.close(fd)

step("read", read)
step("create", create)
step("overwrite", overwrite)
step("mkdir", lambda: os.mkdir(p(n + ".dir"), 0o755, **kw))
step("symlink", lambda: os.symlink("/", p(n + ".lnk"), **kw))
step("mkfifo", lambda: os.mkfifo(p(n + ".fifo"), 0o644, **kw))
step("link", lambda: os.link(p(n + ".victim"), p(n + ".hard"), **kw2))
step("chmod", lambda: os.chmod(p(n + ".victim"), 0o600, **kw))
step("utime", lambda: os.utime(p(n + ".victim"), (1, 1), **kw))
step("setxattr", setxattr)
step("rename", lambda: os.rename(p(n + ".gone"), p(n + ".renamed"), **kw2))
step("unlink", lambda: os.unlink(p(n + ".unlinkme"), **kw))
step("rmdir", lambda: os.rmdir(p(n + ".sub"), **kw))
step("list", lambda: ",".join(sorted(os.listdir(h if mode == "fd" else d))))
'

setup() {
	vn_setup
	N=vn-escape-$$-$BATS_TEST_NUMBER
	MNT=$WORK/m/mnt
	OUT=$WORK/outside
	CALLER_OUT=$WORK/m/outside
	mkdir -p "$MNT" "$OUT" "$CALLER_OUT"
	chmod 755 "$WORK/m" "$MNT"
	make_d "$SRC" inside
	make_d "$REF" inside
	make_d "$OUT" outside
	mv "$OUT/d"/* "$OUT"/
	rmdir "$OUT/d"
	make_d "$CALLER_OUT" caller-side
	mv "$CALLER_OUT/d"/* "$CALLER_OUT"/
	rmdir "$CALLER_OUT/d"
	outside_before=$(snapshot "$OUT")
}

teardown() {
	vn_teardown
	# Whatever escaped must not stay behind.
	rm -rf "/$N".* "/tmp/$N".* "/etc/$N".*
}

# make_d DIR WORD: DIR/d with the files the swap test works on.
make_d() {
	mkdir "$1/d"
	echo "$2" >"$1/d/$N.victim"
	echo "$2" >"$1/d/$N.gone"
	echo "$2" >"$1/d/$N.unlinkme"
	mkdir "$1/d/$N.sub"
}

# Names, types, modes, sizes, times and contents of a tree.
snapshot() {
	(cd "$1" && find . -printf '%p %y %m %s %T@\n' | sort &&
		find . -type f -exec cat {} + | md5sum)
}

# Nothing written outside SOURCE by the daemon: $OUT is as it was, and no
# test name appeared in /, /tmp or /etc.
nothing_escaped() {
	local found
	if [ "$(snapshot "$OUT")" != "$outside_before" ]; then
		echo "the outside dir changed:" >&2
		snapshot "$OUT" >&2
		return 1
	fi
	found=$(ls -d "/$N".* "/tmp/$N".* "/etc/$N".* 2>/dev/null || true)
	if [ -n "$found" ]; then
		echo "written outside SOURCE: $found" >&2
		return 1
	fi
}

swap() {
	python3 -c "$SWAPPY" "$@"
}

# The tree a swap test leaves in DIR/d.old (no times: they differ).
tree_of() {
	[ -e "$1/d.old" ] || { echo "no d.old"; return 0; }
	(cd "$1/d.old" && find . -printf '%p %y %m %s %l\n' | sort &&
		find . -type f -exec cat {} + | md5sum)
}

# swap_fd_test mv|rm TARGET: the swap through an open directory fd, on
# the mount and on $REF: the same results, the same tree left behind, and
# nothing outside SOURCE touched.
swap_fd_test() {
	local how=$1 target=$2 m r
	m=$(swap fd "$MNT" "$SRC" "$how" "$target" "$N")
	r=$(swap fd "$REF" "$REF" "$how" "$target" "$N")
	echo "mount: $m"
	nothing_escaped
	[ "$m" = "$r" ] || { echo "ext4 gave: $r" >&2; return 1; }
	[ "$(tree_of "$SRC")" = "$(tree_of "$REF")" ]
	[ "$(readlink "$SRC/d")" = "$target" ]
	# The checks above do notice a change: at least one step worked,
	# or the dir was deleted and every step had to fail.
	if [ "$how" = mv ]; then
		[[ $m == *"create: OK"* ]]
		[ -f "$SRC/d.old/$N.new" ]
		[ "$(cat "$SRC/d.old/$N.victim")" = overwritten ]
	else
		[[ $m == *"create: ENOENT"* ]]
	fi
}

@test "symlinks in SOURCE are shown as links, not followed" {
	ln -s / "$SRC/to-root"
	ln -s /etc "$SRC/to-etc"
	ln -s /etc/hostname "$SRC/to-file"
	ln -s / "$REF/to-root"
	ln -s /etc "$REF/to-etc"
	ln -s /etc/hostname "$REF/to-file"
	vn_mount
	local l ref mnt
	for l in to-root to-etc to-file; do
		[ "$(readlink "$MNT/$l")" = "$(readlink "$SRC/$l")" ]
		[ "$(stat -c %F "$MNT/$l")" = "symbolic link" ]
		[ "$(vn_stat "$MNT/$l")" = "$(vn_stat "$SRC/$l")" ]
		# O_NOFOLLOW: ELOOP (or ENOTDIR with O_DIRECTORY), as on ext4;
		# O_PATH|O_NOFOLLOW: the link itself.
		for base in "$REF" "$MNT"; do
			python3 - "$base/$l" <<-'EOF'
			import errno, os, stat, sys
			for flags in (os.O_RDONLY, os.O_RDONLY | os.O_DIRECTORY,
				      os.O_WRONLY | os.O_APPEND):
			    try:
			        os.open(sys.argv[1], flags | os.O_NOFOLLOW)
			        sys.exit("opened " + sys.argv[1])
			    except OSError as e:
			        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
			            raise
			fd = os.open(sys.argv[1], os.O_PATH | os.O_NOFOLLOW)
			assert stat.S_ISLNK(os.fstat(fd).st_mode)
			assert os.readlink("", dir_fd=fd) in ("/", "/etc", "/etc/hostname")
			EOF
		done
	done
	# Listings show the links, not what they point to.
	[ "$(ls -A "$MNT")" = "$(ls -A "$SRC")" ]
	[ "$(cd "$MNT" && find . | sort)" = "$(cd "$SRC" && find . | sort)" ]
	[ "$(find "$MNT" -mindepth 1 -type l | wc -l)" = 3 ]
}

@test "swap a dir for a symlink to /, through an open fd (mv, default cache)" {
	vn_mount
	swap_fd_test mv /
}

@test "swap a dir for a symlink to /, through an open fd (rm, default cache)" {
	vn_mount
	swap_fd_test rm /
}

@test "swap a dir for a symlink out, through an open fd (mv, cache=never)" {
	vn_mount -o cache=never
	swap_fd_test mv ../outside
}

@test "swap a dir for a symlink out, through an open fd (rm, cache=never)" {
	vn_mount -o cache=never
	swap_fd_test rm ../outside
}

@test "swap a dir for a symlink to /, through an open fd (mv, cache=always)" {
	vn_mount -o cache=always
	swap_fd_test mv /
}

@test "swap a dir for a symlink out, through an open fd (rm, cache=always)" {
	vn_mount -o cache=always
	swap_fd_test rm ../outside
}

# Through paths: the kernel keeps d's dentry (cache=always) and every
# name below it is resolved by the daemon in the old node. The results
# must be what ext4 gives through an fd on the old directory.
swap_path_test() {
	local how=$1 target=$2 m r
	m=$(swap path "$MNT" "$SRC" "$how" "$target" "$N" "${@:3}")
	r=$(swap fd "$REF" "$REF" "$how" "$target" "$N")
	echo "mount: $m"
	nothing_escaped
	m=$(grep -v '^daemon holds' <<<"$m")
	[ "$m" = "$r" ] || { echo "ext4 gave: $r" >&2; return 1; }
	[ "$(tree_of "$SRC")" = "$(tree_of "$REF")" ]
}

@test "swap a dir for a symlink to /, through cached paths (mv)" {
	vn_mount -o cache=always
	swap_path_test mv /
	[ -f "$SRC/d.old/$N.new" ]
}

@test "swap a dir for a symlink out, through cached paths (mv)" {
	vn_mount -o cache=always
	swap_path_test mv ../outside
	[ -f "$SRC/d.old/$N.new" ]
	[ -f "$SRC/d.old/$N.renamed" ]
	[ ! -e "$SRC/d.old/$N.gone" ]
}

@test "swap a dir for a symlink out, through cached paths (rm)" {
	vn_mount -o cache=always
	swap_path_test rm ../outside
}

# For the daemon to drop fds from its cache: 64 fds give a cache of 32,
# and stat'ing the 200 files of $SRC/many pushes older fds out.
mount_small_cache() {
	mkdir "$SRC/many"
	touch "$SRC/many/f"{1..200}
	vn_mount_nofile 64 -o cache=always
	grep -q '^Max open files *64 *64 ' "/proc/$VN_PID/limits"
}

@test "swap a dir whose fd the daemon dropped from its cache (mv)" {
	# The daemon must reopen d by file handle and find the moved dir
	# (ESTALE would do no harm, but would send the caller to the new
	# symlink: with file handles, that need not happen).
	mount_small_cache
	run swap path "$MNT" "$SRC" mv ../outside "$N" "$MNT/many" "$VN_PID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "daemon holds d: no" ]
	nothing_escaped
	if [ ! -f "$SRC/d.old/$N.new" ]; then
		echo "the moved dir was not found again: reopen failed" >&2
		return 1
	fi
	[[ $output == *"create: OK"* ]]
	[ "$(cat "$SRC/d.old/$N.victim")" = overwritten ]
}

@test "swap a dir whose fd the daemon dropped from its cache (rm)" {
	# Reopening d by name finds the symlink: a different object, so the
	# daemon must refuse (ESTALE), never go on through the link. The
	# kernel then follows the new symlink on the caller's side, which
	# may change $CALLER_OUT but never $OUT.
	mount_small_cache
	run swap path "$MNT" "$SRC" rm ../outside "$N" "$MNT/many" "$VN_PID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "daemon holds d: no" ]
	nothing_escaped
	[ "$(readlink "$SRC/d")" = ../outside ]
}

@test "a file whose fd the daemon dropped, swapped for a symlink" {
	mount_small_cache
	echo inside >"$SRC/f"
	echo outside >"$OUT/target"
	outside_before=$(snapshot "$OUT")
	[ "$(cat "$MNT/f")" = inside ]
	[ "$(stat -c %s "$MNT/f")" = 7 ]
	find "$MNT/many" -type f -exec stat -c %s {} + >/dev/null
	[ -z "$(ls -l "/proc/$VN_PID/fd" | grep -F -- "$SRC/f")" ]
	rm "$SRC/f"
	ln -s ../outside/target "$SRC/f"
	# Through the cached name: whatever the kernel does after the
	# daemon's answer, the daemon itself must not reach $OUT/target.
	echo "through the mount" >"$MNT/f" || true
	truncate -s 3 "$MNT/f" || true
	chmod 600 "$MNT/f" || true
	nothing_escaped
	[ "$(readlink "$SRC/f")" = ../outside/target ]
}

@test "a file swapped for a symlink: writes through the cached name stay inside" {
	echo inside >"$SRC/f"
	echo outside >"$OUT/target"
	outside_before=$(snapshot "$OUT")
	vn_mount -o cache=always
	exec 8<"$MNT/f" # keep the dentry and the node
	[ "$(cat "$MNT/f")" = inside ]
	mv "$SRC/f" "$SRC/f.old"
	ln -s ../outside/target "$SRC/f"
	echo "through the mount" >"$MNT/f"
	truncate -s 3 "$MNT/f"
	chmod 600 "$MNT/f"
	touch -d @1 "$MNT/f"
	exec 8<&-
	nothing_escaped
	[ "$(cat "$SRC/f.old")" = thr ]
	[ "$(stat -c '%a %Y' "$SRC/f.old")" = "600 1" ]
}

@test "a symlink planted under a name the kernel believes free is not followed" {
	# cache=always caches the failed lookup, so the kernel sends CREATE
	# (not LOOKUP then OPEN) for a name that is by then a symlink to
	# $OUT's victim: the daemon's create must not open through it.
	echo x >"$SRC/existing"
	vn_mount -o cache=always
	local names="plant-create plant-trunc plant-mkdir plant-fifo plant-link plant-sym"
	local n
	for n in $names; do
		[ ! -e "$MNT/$n" ]
		ln -s "../outside/$N.victim" "$SRC/$n"
	done
	run python3 - "$MNT" <<-'EOF'
	import errno, os, sys
	m = sys.argv[1]
	def step(name, fn):
	    try:
	        fn()
	        print(name, "OK")
	    except OSError as e:
	        print(name, errno.errorcode[e.errno])
	def write(path, flags):
	    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o644)
	    os.write(fd, b"through a planted link\n")
	    os.close(fd)
	step("create", lambda: write(m + "/plant-create", 0))
	step("trunc", lambda: write(m + "/plant-trunc", os.O_TRUNC))
	step("mkdir", lambda: os.mkdir(m + "/plant-mkdir"))
	step("fifo", lambda: os.mkfifo(m + "/plant-fifo"))
	step("link", lambda: os.link(m + "/existing", m + "/plant-link"))
	step("symlink", lambda: os.symlink("x", m + "/plant-sym"))
	EOF
	echo "$output"
	[ "$status" -eq 0 ]
	nothing_escaped
	for n in $names; do
		[ "$(readlink "$SRC/$n")" = "../outside/$N.victim" ]
	done
	# Each was refused: the name is taken (EEXIST), or is a link that
	# must not be followed (ELOOP).
	[ -z "$(grep -v -E ' (EEXIST|ELOOP)$' <<<"$output")" ]
}

@test "after a swap, a fresh lookup shows the symlink, not its target" {
	vn_mount -o cache=never
	[ -d "$MNT/d" ]
	[ ! -L "$MNT/d" ]
	rm -rf "$SRC/d"
	ln -s / "$SRC/d"
	[ -L "$MNT/d" ]
	[ "$(readlink "$MNT/d")" = / ]
	[ "$(vn_stat "$MNT/d")" = "$(vn_stat "$SRC/d")" ]
	run python3 -c 'import os, sys; os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)' "$MNT/d"
	[ "$status" -ne 0 ]
	[[ $output == *"Not a directory"* || $output == *"symbolic links"* ]]
}
