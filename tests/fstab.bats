# Mounting the usual ways: mount(8) -t fuse.veneerfs, /etc/fstab lines for
# both modes, and the systemd mount unit in contrib/. mount(8) hands a
# fuse.veneerfs mount to mount.fuse3(8), which runs `veneerfs` from the
# PATH; here /usr/local/bin (where make install puts it) is a private tmpfs
# holding a link to this build, and /etc/fstab a private bind mount of a
# file of the test: nothing outside this file's mount namespace changes.
load helpers

setup() {
	vn_setup
	for tool in mount umount findmnt mountpoint; do
		command -v $tool >/dev/null || vn_skip "needs $tool"
	done
	[ -x /sbin/mount.fuse3 ] || [ -x /sbin/mount.fuse ] ||
		vn_skip "needs mount.fuse3 (Debian's fuse3)"
	mount -t tmpfs -o mode=755 vn-bin /usr/local/bin
	ln -s "$VENEERFS" /usr/local/bin/veneerfs
	FSTAB=$WORK/fstab
	: >"$FSTAB"
	mount --bind "$FSTAB" /etc/fstab
	mkdir "$WORK/l" "$WORK/u" "$WORK/w"
	chmod 755 "$WORK/l"
	echo lower >"$WORK/l/f"
	echo src >"$SRC/f"
}

teardown() {
	cd /
	if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
	vn_wait_no_daemon "$MNT"
	mountpoint -q /etc/fstab && umount /etc/fstab
	mountpoint -q /usr/local/bin && umount /usr/local/bin
	vn_teardown
}

# fstab_line FIELDS...: write one /etc/fstab line.
fstab_line() {
	printf '%s\n' "$*" >>"$FSTAB"
}

@test "fstab: a passthrough line mounts with 'mount MNT' and 'umount' ends it" {
	fstab_line "$SRC $MNT fuse.veneerfs" \
		"allow_other,noauto,nofail,_netdev,x-systemd.automount,x-systemd.requires=network.target 0 0"
	mount "$MNT"
	[ "$(findmnt -no FSTYPE,SOURCE "$MNT")" = "fuse.veneerfs $SRC" ]
	[ -n "$(vn_daemons "$MNT")" ]
	# passthrough: the same object, seen through the mount
	[ "$(cat "$MNT/f")" = src ]
	[ "$(vn_stat "$MNT/f")" = "$(vn_stat "$SRC/f")" ]
	[ "$(stat -c %i "$MNT/f")" = "$(stat -c %i "$SRC/f")" ]
	echo through >"$MNT/g"
	[ "$(cat "$SRC/g")" = through ]
	# allow_other reached the kernel: another user reads the file
	[ "$(as_nobody cat "$MNT/f")" = src ]
	umount "$MNT"
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
	vn_wait_no_daemon "$MNT"
}

@test "fstab: an overlay line, with the name in the source field" {
	fstab_line "veneerfs $MNT fuse.veneerfs" \
		"lowerdir=$WORK/l,upperdir=$WORK/u,workdir=$WORK/w,defaults 0 0"
	mount "$MNT"
	[ "$(findmnt -no FSTYPE,SOURCE "$MNT")" = "fuse.veneerfs veneerfs" ]
	[ "$(cat "$MNT/f")" = lower ]
	echo more >>"$MNT/f"
	echo new >"$MNT/n"
	rm "$MNT/f"
	[ ! -e "$MNT/f" ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
	# the upper layer in the kernel's format: a 0/0 whiteout and the file
	[ "$(stat -c '%F %t:%T' "$WORK/u/f")" = "character special file 0:0" ]
	[ "$(cat "$WORK/u/n")" = new ]
	[ "$(cat "$WORK/l/f")" = lower ]
}

@test "fstab: mount -t fuse.veneerfs with the kernel's standard options" {
	mount -t fuse.veneerfs -o ro,nosuid,nodev,noexec,noatime,cache=never \
		"$SRC" "$MNT"
	local opts
	opts=$(findmnt -no OPTIONS "$MNT")
	for o in ro nosuid nodev noexec noatime; do
		[[ ,$opts, == *",$o,"* ]] || { echo "no $o in $opts" >&2; false; }
	done
	[ "$(cat "$MNT/f")" = src ]
	run "$VNOP" open "$MNT/new" O_CREAT,O_WRONLY 0644
	[ "$output" = EROFS ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
}

@test "fstab: every atime option and lazytime, as mount(8) passes them" {
	local o opts
	for o in relatime strictatime nodiratime lazytime nosymfollow; do
		mount -t fuse.veneerfs -o "$o" "$SRC" "$MNT"
		opts=$(findmnt -no VFS-OPTIONS,FS-OPTIONS "$MNT")
		echo "$o: $opts"
		case $o in
		strictatime) [[ ,$opts, != *,relatime,* ]]
			[[ ,$opts, != *,noatime,* ]] ;;
		*) [[ $opts == *"$o"* ]] ;;
		esac
		umount "$MNT"
		vn_wait_no_daemon "$MNT"
	done
}

@test "fstab: mount -o remount,ro and remount,rw change the running mount" {
	fstab_line "$SRC $MNT fuse.veneerfs noatime 0 0"
	mount "$MNT"
	local pid
	pid=$(vn_daemons "$MNT")
	[ -n "$pid" ]
	mount -o remount,ro "$MNT"
	[ "$(findmnt -no VFS-OPTIONS "$MNT" | cut -d, -f1)" = ro ]
	run "$VNOP" open "$MNT/new" O_CREAT,O_WRONLY 0644
	[ "$output" = EROFS ]
	run "$VNOP" unlink "$MNT/f"
	[ "$output" = EROFS ]
	[ "$(cat "$MNT/f")" = src ]
	mount -o remount,rw "$MNT"
	[ "$(findmnt -no VFS-OPTIONS "$MNT")" = rw,noatime ]
	echo written >"$MNT/new"
	[ "$(cat "$SRC/new")" = written ]
	# no second daemon was started
	[ "$(vn_daemons "$MNT")" = "$pid" ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
}

@test "fstab: drop_privileges: mount.fuse3 mounts, veneerfs serves with no capabilities" {
	mount -t fuse.veneerfs -o drop_privileges "$SRC" "$MNT"
	local pid
	pid=$(pgrep -f "^(\S*/)?veneerfs .*/dev/fd/" | head -1)
	[ -n "$pid" ]
	[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" = 0000000000000000 ]
	[ "$(cat "$MNT/f")" = src ]
	echo written >"$MNT/new"
	[ "$(cat "$SRC/new")" = written ]
	[ "$(findmnt -no FSTYPE "$MNT")" = fuse.veneerfs ]
	umount "$MNT"
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
}

@test "fstab: a bad option or source fails with one line and mounts nothing" {
	run mount -t fuse.veneerfs -o bogus "$SRC" "$MNT"
	[ "$status" -ne 0 ]
	[ "$output" = "veneerfs: unknown option 'bogus'" ]
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
	fstab_line "$WORK/missing $MNT fuse.veneerfs defaults 0 0"
	run mount "$MNT"
	[ "$status" -ne 0 ]
	[ "$output" = "veneerfs: source '$WORK/missing': No such file or directory" ]
	run mountpoint -q "$MNT"
	[ "$status" -ne 0 ]
	[ -z "$(vn_daemons "$MNT")" ]
}

# The same options given to veneerfs directly (a systemd unit with
# Type=fuse.veneerfs may pass them on) are accepted and change nothing.
@test "fstab: mount(8)'s own options on veneerfs' command line" {
	"$VENEERFS" -o defaults,auto,noauto,nofail,_netdev,comment=x \
		-o x-systemd.automount,x-systemd.idle-timeout=5 "$SRC" "$MNT"
	[ "$(findmnt -no FSTYPE,SOURCE "$MNT")" = "fuse.veneerfs $SRC" ]
	[ "$(cat "$MNT/f")" = src ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
}

@test "fstab: a source with a space, written \\040 as fstab(5) wants" {
	mkdir "$WORK/my data"
	echo spaced >"$WORK/my data/f"
	fstab_line "$WORK/my\\040data $MNT fuse.veneerfs defaults 0 0"
	mount "$MNT"
	[ "$(findmnt -no SOURCE "$MNT")" = "$WORK/my data" ]
	[ "$(cat "$MNT/f")" = spaced ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
}

# contrib/mnt-data.mount: systemd checks it, and the mount it describes
# (systemd runs mount -t TYPE -o OPTIONS WHAT WHERE) works, with this
# test's directories for /srv/data and /mnt/data.
@test "fstab: the systemd mount unit in contrib/" {
	local unit=$VN_TESTS/../contrib/mnt-data.mount what where type options
	[ -f "$unit" ]
	if command -v systemd-analyze >/dev/null; then
		mkdir "$WORK/units"
		cp "$unit" "$WORK/units/"
		run systemd-analyze verify --man=no "$WORK/units/mnt-data.mount"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	elif [ "${CI:-}" = true ]; then
		echo "systemd-analyze is missing" >&2
		false
	fi
	what=$(sed -n 's/^What=//p' "$unit")
	where=$(sed -n 's/^Where=//p' "$unit")
	type=$(sed -n 's/^Type=//p' "$unit")
	options=$(sed -n 's/^Options=//p' "$unit")
	[ "$what" = /srv/data ]
	[ "$where" = /mnt/data ]
	[ "$type" = fuse.veneerfs ]
	mount -t "$type" -o "$options" "$SRC" "$MNT"
	[ "$(findmnt -no FSTYPE,SOURCE "$MNT")" = "fuse.veneerfs $SRC" ]
	[ "$(as_nobody cat "$MNT/f")" = src ]
	umount "$MNT"
	vn_wait_no_daemon "$MNT"
}
