#!/usr/bin/env bats
# Mount options: ro, the cache modes and their timeouts, writeback,
# noxattr, option validation and the name shown in /proc/mounts.

load helpers

setup() {
	vn_setup
}

teardown() {
	vn_teardown
}

# until_true SECS CMD...: run CMD every 20 ms until it succeeds; fail if
# it has not within SECS seconds. Prints how long it took, in ms.
until_true() {
	local secs=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		if "$@"; then
			now=$(date +%s%N)
			echo "took $(((now - start) / 1000000)) ms: $*"
			return 0
		fi
		now=$(date +%s%N)
		if [ $((now - start)) -gt $((secs * 1000000000)) ]; then
			echo "not true within $secs s: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

size_is() {
	[ "$(stat -c %s "$1")" = "$2" ]
}

content_is() {
	[ "$(cat "$1")" = "$2" ]
}

# The /proc/mounts line of the mount on $MNT.
mount_line() {
	awk -v m="$MNT" '$2 == m' /proc/mounts
}

# refused ARGS...: the daemon must exit non-zero before mounting, with a
# message. The message is left in $output.
refused() {
	local pid i status=
	"$VENEERFS" -f "$@" "$SRC" "$MNT" >"$WORK/refused.out" 2>&1 &
	pid=$!
	for i in $(seq 1 250); do
		if mountpoint -q "$MNT"; then
			fusermount3 -u "$MNT"
			wait $pid || true
			echo "mounted with: $*" >&2
			return 1
		fi
		if ! kill -0 $pid 2>/dev/null; then
			wait $pid && status=0 || status=$?
			break
		fi
		sleep 0.02
	done
	if [ -z "$status" ]; then
		kill $pid
		wait $pid || true
		echo "neither mounted nor exited with: $*" >&2
		return 1
	fi
	output=$(cat "$WORK/refused.out")
	echo "$* -> exit $status: $output"
	[ "$status" -ne 0 ]
	[ -n "$output" ]
}

# One call, printing OK or the errno name.
pyop() {
	python3 - "$@" <<-'EOF'
	import errno, os, sys
	op, a = sys.argv[1], sys.argv[2:]
	try:
	    if op == "create":
	        os.close(os.open(a[0], os.O_WRONLY | os.O_CREAT, 0o644))
	    elif op == "write":
	        fd = os.open(a[0], os.O_WRONLY); os.write(fd, b"x"); os.close(fd)
	    elif op == "mkdir":
	        os.mkdir(a[0])
	    elif op == "unlink":
	        os.unlink(a[0])
	    elif op == "rename":
	        os.rename(a[0], a[1])
	    elif op == "chmod":
	        os.chmod(a[0], 0o600)
	    elif op == "truncate":
	        os.truncate(a[0], 0)
	    elif op == "symlink":
	        os.symlink("t", a[0])
	    elif op == "setxattr":
	        os.setxattr(a[0], "user.vn", b"1")
	    elif op == "getxattr":
	        os.getxattr(a[0], "user.vn")
	    elif op == "listxattr":
	        os.listxattr(a[0])
	    print("OK")
	except OSError as e:
	    print(errno.errorcode[e.errno])
	EOF
}

@test "ro: every write fails with EROFS, reads work" {
	echo data >"$SRC/f"
	mkdir "$SRC/dir"
	local before
	before=$(cd "$SRC" && find . -printf '%p %y %m %s %T@\n' | sort)
	vn_mount -o ro
	[[ $(mount_line) == *" ro,"* ]]
	[ "$(cat "$MNT/f")" = data ]
	[ "$(ls "$MNT")" = "$(ls "$SRC")" ]
	[ "$(vn_stat "$MNT/f")" = "$(vn_stat "$SRC/f")" ]
	[ "$(pyop create "$MNT/new")" = EROFS ]
	[ "$(pyop write "$MNT/f")" = EROFS ]
	[ "$(pyop truncate "$MNT/f")" = EROFS ]
	[ "$(pyop mkdir "$MNT/newdir")" = EROFS ]
	[ "$(pyop unlink "$MNT/f")" = EROFS ]
	[ "$(pyop rename "$MNT/f" "$MNT/g")" = EROFS ]
	[ "$(pyop chmod "$MNT/f")" = EROFS ]
	[ "$(pyop symlink "$MNT/l")" = EROFS ]
	[ "$(pyop setxattr "$MNT/f")" = EROFS ]
	[ "$(cd "$SRC" && find . -printf '%p %y %m %s %T@\n' | sort)" = "$before" ]
}

@test "cache=auto (default): a change made in SOURCE shows on the next open" {
	printf aaaa >"$SRC/f"
	vn_mount
	[ "$(cat "$MNT/f")" = aaaa ]
	printf bbbb >"$SRC/f"
	# Same size: the next open drops the cached pages.
	[ "$(cat "$MNT/f")" = bbbb ]
	# A new size shows once the attributes (1 s) expire.
	printf 'a longer content' >"$SRC/f"
	until_true 3 size_is "$MNT/f" 16
	[ "$(cat "$MNT/f")" = "a longer content" ]
	printf 'cd' >"$SRC/f"
	until_true 3 size_is "$MNT/f" 2
	[ "$(cat "$MNT/f")" = cd ]
}

# pread_is WANT: what fd 8, held open by the test, reads at offset 0.
pread_is() {
	[ "$(python3 -c 'import os, sys; print(os.pread(int(sys.argv[1]), 100, 0).decode(), end="")' 8)" = "$1" ]
}

@test "cache=auto (default): an open file sees SOURCE's changes within ~1 s" {
	printf aaaa >"$SRC/f"
	vn_mount
	exec 8<"$MNT/f"
	pread_is aaaa
	# A new size, then the same size with a new mtime: the kernel must
	# drop its stale pages both times, without a reopen.
	printf bbbbbb >"$SRC/f"
	until_true 3 pread_is bbbbbb
	printf cccccc >"$SRC/f"
	until_true 3 pread_is cccccc
	exec 8<&-
}

@test "cache=auto (default): no negative caching, a new file shows at once" {
	vn_mount
	[ "$(pyop chmod "$MNT/new")" = ENOENT ]
	[ ! -e "$MNT/new" ]
	echo new >"$SRC/new"
	[ -e "$MNT/new" ]
	[ "$(cat "$MNT/new")" = new ]
	mkdir "$SRC/newdir"
	[ -d "$MNT/newdir" ]
}

@test "cache=auto (default): a name deleted in SOURCE goes within ~1 s" {
	echo x >"$SRC/f"
	vn_mount
	[ -e "$MNT/f" ]
	rm "$SRC/f"
	until_true 3 test ! -e "$MNT/f"
}

@test "cache=never: changes in SOURCE show at once" {
	printf aaaa >"$SRC/f"
	echo x >"$SRC/gone"
	vn_mount -o cache=never
	[ "$(cat "$MNT/f")" = aaaa ]
	[ -e "$MNT/gone" ]
	[ ! -e "$MNT/new" ]
	printf 'a longer content' >"$SRC/f"
	rm "$SRC/gone"
	echo new >"$SRC/new"
	chmod 600 "$SRC/f"
	[ "$(stat -c '%s %a' "$MNT/f")" = "16 600" ]
	[ "$(cat "$MNT/f")" = "a longer content" ]
	[ ! -e "$MNT/gone" ]
	[ "$(cat "$MNT/new")" = new ]
	# An open file reads what SOURCE has now: direct I/O, no page cache.
	exec 8<"$MNT/f"
	printf 'changed content!' >"$SRC/f"
	[ "$(cat <&8)" = "changed content!" ]
	exec 8<&-
}

@test "cache=always: reads and writes work, negative entries are cached" {
	echo data >"$SRC/f"
	vn_mount -o cache=always
	[ "$(cat "$MNT/f")" = data ]
	echo written >"$MNT/g"
	echo more >>"$MNT/g"
	[ "$(cat "$SRC/g")" = "written
more" ]
	[ "$(cat "$MNT/g")" = "$(cat "$SRC/g")" ]
	[ "$(vn_stat "$MNT/g")" = "$(vn_stat "$SRC/g")" ]
	# A failed lookup is remembered: a file made behind the mount's
	# back under that name stays unseen.
	[ ! -e "$MNT/later" ]
	echo later >"$SRC/later"
	[ ! -e "$MNT/later" ]
	# Names made through the mount are seen, of course.
	echo via >"$MNT/via"
	[ "$(cat "$SRC/via")" = via ]
}

@test "attr_timeout=0 and entry_timeout=0: accepted, and nothing is cached" {
	printf aaaa >"$SRC/f"
	vn_mount -o attr_timeout=0,entry_timeout=0
	[ "$(cat "$MNT/f")" = aaaa ]
	printf 'a longer content' >"$SRC/f"
	[ "$(stat -c %s "$MNT/f")" = 16 ]
	rm "$SRC/f"
	[ ! -e "$MNT/f" ]
	echo new >"$SRC/f"
	[ "$(cat "$MNT/f")" = new ]
}

@test "attr_timeout and entry_timeout: bad values are refused" {
	refused -o attr_timeout=nan
	[[ $output == *attr_timeout* ]]
	refused -o entry_timeout=soon
	[[ $output == *entry_timeout* ]]
	refused -o attr_timeout=-2
	refused -o entry_timeout=-0.5
}

@test "attr_timeout=-1 and entry_timeout=-1 are refused like any negative" {
	refused -o attr_timeout=-1
	[[ $output == *attr_timeout* ]]
	refused -o entry_timeout=-1
	[[ $output == *entry_timeout* ]]
}

@test "writeback: written data reaches SOURCE after fsync and close" {
	vn_mount -o writeback,nopassthrough
	python3 - "$MNT/f" "$SRC/f" <<-'EOF'
	import os, sys
	m, s = sys.argv[1], sys.argv[2]
	fd = os.open(m, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	os.write(fd, b"0123456789" * 1000)
	os.fsync(fd)
	with open(s, "rb") as f:
	    got = f.read()
	assert got == b"0123456789" * 1000, "after fsync: %d bytes" % len(got)
	os.pwrite(fd, b"abc", 4096 + 5)
	os.close(fd)
	EOF
	[ "$(stat -c %s "$SRC/f")" = 10000 ]
	# The partial page written last kept its neighbours.
	[ "$(dd if="$SRC/f" bs=1 skip=4098 count=10 2>/dev/null)" = "890abc4567" ]
	cmp "$SRC/f" "$MNT/f"
}

@test "writeback: O_APPEND appends" {
	vn_mount -o writeback,nopassthrough
	for d in "$MNT" "$REF"; do
		printf 'one\n' >"$d/log"
		printf 'two\n' >>"$d/log"
		python3 - "$d/log" <<-'EOF'
		import os, sys
		fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
		os.write(fd, b"three\n")
		os.lseek(fd, 0, os.SEEK_SET)
		os.write(fd, b"four\n")
		os.close(fd)
		EOF
	done
	[ "$(cat "$SRC/log")" = "$(cat "$REF/log")" ]
	[ "$(cat "$MNT/log")" = "$(cat "$REF/log")" ]
	[ "$(vn_stat "$SRC/log" | cut -d' ' -f1-6)" = \
	  "$(vn_stat "$REF/log" | cut -d' ' -f1-6)" ]
}

@test "writeback: a write-only file of an unprivileged user is writable" {
	# The kernel may need to read a page it writes partially, so the
	# daemon opens read-write where it can; a mode 0200 file must still
	# take every write it takes on ext4.
	vn_mount -o writeback,nopassthrough,allow_other
	local d
	for d in "$REF" "$SRC"; do
		mkdir -m 0777 "$d/open"
	done
	for d in "$REF" "$MNT"; do
		as_nobody sh -c "umask 0577; echo secret >'$d/open/wo'"
		as_nobody sh -c "echo again >'$d/open/wo'"
		as_nobody sh -c "echo more >>'$d/open/wo'"
		as_nobody sh -c "printf A | dd of='$d/open/wo' bs=1 seek=1 conv=notrunc"
	done
	[ "$(stat -c '%a %U' "$SRC/open/wo")" = "200 nobody" ]
	cmp "$REF/open/wo" "$SRC/open/wo"
}

@test "writeback: refused with cache=never" {
	refused -o writeback,nopassthrough,cache=never
	[[ $output == *writeback* ]]
}

@test "noxattr: extended attributes are refused" {
	echo x >"$SRC/f"
	vn_mount -o noxattr
	# EOPNOTSUPP, which Python may name ENOTSUP: the same number.
	[[ $(pyop setxattr "$MNT/f") == @(EOPNOTSUPP|ENOTSUP) ]]
	[[ $(pyop getxattr "$MNT/f") == @(EOPNOTSUPP|ENOTSUP) ]]
	[[ $(pyop listxattr "$MNT/f") == @(EOPNOTSUPP|ENOTSUP) ]]
	run setfattr -n user.vn -v 1 "$MNT/f"
	[ "$status" -ne 0 ]
	[ -z "$(getfattr -d -m - "$SRC/f" 2>&1)" ]
}

@test "without noxattr, extended attributes work (the control)" {
	echo x >"$SRC/f"
	vn_mount
	setfattr -n user.vn -v 1 "$MNT/f"
	[ "$(getfattr --only-values -n user.vn "$SRC/f")" = 1 ]
	[ "$(getfattr --only-values -n user.vn "$MNT/f")" = 1 ]
}

@test "an unknown option is refused before mounting" {
	refused -o bogus_option
	[[ $output == *bogus_option* ]]
	refused -o cache=sometimes
	[[ $output == *cache* ]]
	refused --no-such-flag
	[[ $output == *no-such-flag* ]]
}

@test "/proc/mounts shows SOURCE as the name, fuse.veneerfs as the type" {
	vn_mount
	local line
	line=$(mount_line)
	echo "$line"
	[ "$(awk '{print $1, $3}' <<<"$line")" = "$SRC fuse.veneerfs" ]
	[ "$(findmnt -n -o FSTYPE "$MNT")" = fuse.veneerfs ]
}

@test "fsname= and subtype= replace the defaults" {
	vn_mount -o fsname=mysource,subtype=mytype
	[ "$(mount_line | awk '{print $1, $3}')" = "mysource fuse.mytype" ]
}

@test "a SOURCE with a comma and a space in its name shows whole" {
	SRC="$WORK/a,b c"
	mkdir "$SRC"
	echo x >"$SRC/f"
	vn_mount
	[ "$(cat "$MNT/f")" = x ]
	[ "$(findmnt -n -o SOURCE "$MNT")" = "$SRC" ]
	[ "$(mount_line | awk '{print $1}')" = "$WORK/a,b\\040c" ]
}
