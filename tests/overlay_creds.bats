#!/usr/bin/env bats
# Requests on an overlay run with the caller's credentials: what an
# ordinary user makes belongs to that user, and what the layers' modes
# forbid it stays forbidden; the kernel's overlayfs is the reference, on
# the mounts and on disk.

load helpers
load overlay

# as_user CMD...: run CMD as uid/gid 1000 with no supplementary group.
as_user() {
	setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"
}

# as_member CMD...: the same with group 4242 besides.
as_member() {
	setpriv --reuid=1000 --regid=1000 --groups=4242 -- "$@"
}

make_layers() {
	mkdir "$L1/open" "$L1/closed" "$L1/sticky" "$L1/sgid"
	chmod 0777 "$L1/open"
	chmod 0755 "$L1/closed"
	chmod 1777 "$L1/sticky"
	chgrp 4242 "$L1/sgid"
	chmod 2777 "$L1/sgid"
	echo root >"$L1/rootfile"
	chmod 0644 "$L1/rootfile"
	echo root >"$L1/sticky/rootfile"
	chmod 0666 "$L1/sticky/rootfile"
	echo mine >"$L1/open/given"
}

@test "creds: what an ordinary user makes belongs to that user" {
	make_layers
	ov_mount_both
	ov_ok as_user sh -c 'umask 022 && echo x >open/f && mkdir open/d &&
		mkfifo open/p && ln -s f open/s && echo y >sgid/g &&
		mkdir sgid/sd && touch open/d/inner'
	ov_diff stat -c '%n %u:%g %a' open/f open/d open/p open/s sgid/g \
		sgid/sd open/d/inner
	ov_is "$ov_out" "$(printf '%s\n' 'open/f 1000:1000 644' \
		'open/d 1000:1000 755' 'open/p 1000:1000 644' \
		'open/s 1000:1000 777' 'sgid/g 1000:4242 644' \
		'sgid/sd 1000:4242 2755' 'open/d/inner 1000:1000 644')"
	ov_compare_all
}

@test "creds: an ordinary user cannot give files away or write root's" {
	make_layers
	ov_mount_both
	ov_ok as_user touch open/mine
	ov_diff as_user "$VNOP" chown open/mine 1001 -1
	ov_is "$ov_out" EPERM
	ov_diff as_user "$VNOP" chown open/mine -1 4242
	ov_is "$ov_out" EPERM
	ov_diff as_member "$VNOP" chown open/mine -1 4242
	ov_is "$ov_out" 0
	ov_diff as_user "$VNOP" open closed/new O_WRONLY,O_CREAT 0644
	ov_is "$ov_out" EACCES
	ov_diff as_user "$VNOP" mkdir closed/newdir 0755
	ov_is "$ov_out" EACCES
	ov_diff as_user "$VNOP" open rootfile O_WRONLY
	ov_is "$ov_out" EACCES
	ov_diff as_user "$VNOP" unlink sticky/rootfile
	ov_is "$ov_out" EPERM
	ov_diff as_user "$VNOP" chmod rootfile 0666
	ov_is "$ov_out" EPERM
	ov_compare_all
}

@test "creds: a file root gives to a user is that user's to change" {
	make_layers
	ov_mount_both
	ov_ok chown 1000:1000 open/given
	ov_ok as_user sh -c 'echo more >>open/given && chmod 600 open/given'
	ov_diff stat -c '%n %u:%g %a' open/given
	ov_is "$ov_out" "open/given 1000:1000 600"
	ov_compare_all
}
