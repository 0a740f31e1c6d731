# podman with veneerfs as its overlay mount_program, end to end (make
# check-podman). One image is built here from busybox (no network): two
# layers, the second deleting a file and making a directory opaque with
# .wh. markers, as image layers carry them. The same steps run with
# veneerfs as mount_program and on the kernel's overlayfs (the overlay
# driver without a mount_program), each in its own storage: what the
# containers see and what the committed image holds must be the same.
# `podman diff` is checked line by line instead: with a mount_program the
# engine computes it another way (it compares the mounted tree with the
# image rather than reading the upper layer), and words a directory
# deleted and made again as the changes inside it.
load helpers

setup_file() {
	export LC_ALL=C
	PM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vnpodman.XXXXXX")
	chmod 755 "$PM_WORK"
	export PM_WORK
}

teardown_file() {
	local t
	[ -n "${PM_WORK:-}" ] || return 0
	# whatever a failed test left behind: containers, then mounts
	for s in "$PM_WORK"/vn "$PM_WORK"/kernel "$PM_WORK"/conf; do
		[ -d "$s/root" ] || continue
		PM_STORE=$s pm rm -af >/dev/null 2>&1 || true
	done
	findmnt -rn -o TARGET | grep -F "$PM_WORK/" | sort -r |
		while IFS= read -r t; do umount -l "$t" 2>/dev/null; done
	rm -rf --one-file-system "$PM_WORK"
}

setup() {
	[ "$(id -u)" -eq 0 ] || vn_skip "needs root"
	[ -c /dev/fuse ] || vn_skip "needs /dev/fuse"
	local tool
	for tool in podman runc busybox findmnt; do
		command -v $tool >/dev/null || vn_skip "needs $tool"
	done
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		true
	grep -qw overlay /proc/filesystems || vn_skip "needs kernel overlayfs"
}

# pm ARGS...: podman on the private storage $PM_STORE, with $PM_MP as
# mount_program (default veneerfs; empty: the kernel's overlayfs). Set up
# for this kind of machine: no systemd, no network, no registry.
pm() {
	local mp=() prog=${PM_MP-$VENEERFS}
	[ -z "$prog" ] ||
		mp=(--storage-opt "overlay.mount_program=$prog")
	podman --root "$PM_STORE/root" --runroot "$PM_STORE/run" \
		--tmpdir "$PM_STORE/tmp" --cgroup-manager cgroupfs \
		--runtime runc --events-backend file \
		--storage-driver overlay "${mp[@]}" "$@"
}

pm_run() {
	pm run --network none --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 "$@"
}

# pm_sh [RUN OPTIONS...] IMAGE SCRIPT: run SCRIPT in a container, its
# stderr into its stdout so that the order of lines is kept.
pm_sh() {
	local n=$(($# - 1))
	pm_run "${@:1:$n}" sh -c "exec 2>&1; ${!#}"
}

# The image, as a docker-archive tarball: layer 1 is busybox and some
# files, layer 2 whites out data/gone, makes data/dir opaque (hiding
# data/dir/old) and adds data/dir/new and data/added.
make_image() {
	local d=$PM_WORK/image bb a
	[ -f "$d.tar" ] && return 0
	bb=$(command -v busybox)
	if ldd "$bb" >/dev/null 2>&1; then
		vn_skip "busybox is not statically linked (install busybox-static)"
	fi
	rm -rf "$d" && mkdir -p "$d/l1/bin" "$d/l1/etc" "$d/l1/tmp" \
		"$d/l1/data/dir/sub" "$d/l2/data/dir" "$d/out"
	cp "$bb" "$d/l1/bin/busybox"
	for a in sh ls cat echo rm mkdir stat find sort readlink ln chmod id \
		grep sed cut head true xargs; do
		ln -s busybox "$d/l1/bin/$a"
	done
	chmod 1777 "$d/l1/tmp"
	echo keep >"$d/l1/data/keep"
	echo gone >"$d/l1/data/gone"
	echo old >"$d/l1/data/dir/old"
	echo x >"$d/l1/data/dir/sub/x"
	: >"$d/l2/data/.wh.gone"
	: >"$d/l2/data/dir/.wh..wh..opq"
	echo new >"$d/l2/data/dir/new"
	echo added >"$d/l2/data/added"
	tar --numeric-owner --owner=0 --group=0 -C "$d/l1" -cf "$d/out/l1.tar" .
	tar --numeric-owner --owner=0 --group=0 -C "$d/l2" -cf "$d/out/l2.tar" .
	local s1 s2
	s1=$(sha256sum <"$d/out/l1.tar" | cut -d' ' -f1)
	s2=$(sha256sum <"$d/out/l2.tar" | cut -d' ' -f1)
	printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}\n' \
		"$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
		"$s1" "$s2" >"$d/out/config.json"
	printf '[{"Config":"config.json","RepoTags":["localhost/vnlayers:latest"],"Layers":["l1.tar","l2.tar"]}]\n' \
		>"$d/out/manifest.json"
	tar -C "$d/out" -cf "$d.tar" manifest.json config.json l1.tar l2.tar
}

# What a container shows of /data: every name with type, mode and owner,
# then contents, a symlink and a link count.
SHOW='cd /data && find . | sort | while read -r f; do stat -c "%n %F %a %u:%g" "$f"; done'

# The steps of the test on storage $PM_STORE; prints what was seen.
scenario() {
	make_image
	pm load -q -i "$PM_WORK/image.tar" >/dev/null
	echo "== the image"
	pm_sh --rm localhost/vnlayers "$SHOW; cat keep added dir/new"
	echo "== create, modify and delete in a container"
	pm_sh --name c1 localhost/vnlayers '
		set -e
		echo new >/data/new
		echo more >>/data/keep
		rm /data/added
		rm -r /data/dir && mkdir /data/dir && echo fresh >/data/dir/fresh
		mkdir /data/made && ln -s ../keep /data/made/link
		ln /data/new /data/hard
		chmod 600 /data/keep
		'"$SHOW"'
		cat keep new dir/fresh; readlink made/link; stat -c %h new'
	echo "== the committed image"
	pm commit -q c1 localhost/vnnext >/dev/null
	pm_sh --rm localhost/vnnext "$SHOW"'
		cat keep new dir/fresh; readlink made/link; stat -c %h new'
	echo "== as another user"
	pm_sh --rm --user 1000:1000 localhost/vnnext '
		id; cat /data/new
		echo u >/tmp/u && stat -c "%u:%g %a" /tmp/u
		echo x >>/data/keep || echo denied'
	echo "== podman diff"
	pm diff c1 | sort
	pm rm c1 >/dev/null
	pm rmi localhost/vnnext localhost/vnlayers >/dev/null
	echo "== images left: $(pm images -q | wc -l)"
}

# same NAME A B: the transcripts A and B are the same, or show the diff.
same() {
	[ "$2" = "$3" ] && return 0
	diff -u --label "$1" --label veneerfs <(echo "$2") <(echo "$3") >&2
	return 1
}

@test "podman: image, run, commit, run, rm and rmi as on the kernel's overlayfs" {
	local vn kernel
	vn=$(PM_STORE=$PM_WORK/vn; scenario 2>&1) ||
		{ echo "$vn" >&2; false; }
	kernel=$(PM_STORE=$PM_WORK/kernel PM_MP=; scenario 2>&1) ||
		{ echo "$kernel" >&2; false; }
	same "the kernel's overlayfs" "${kernel%%== podman diff*}" \
		"${vn%%== podman diff*}"
	# and what that means, so that both sides cannot be wrong alike
	echo "$vn" | grep -qx './dir/new regular file 644 0:0'
	[ -z "$(echo "$vn" | grep '^./gone\|^./dir/old\|^./dir/sub')" ]
	same "the expected changes" "$(printf '%s\n' '== podman diff' \
		'A /data/dir/fresh' 'A /data/hard' 'A /data/made' \
		'A /data/made/link' 'A /data/new' 'C /data' 'C /data/dir' \
		'C /data/keep' 'C /etc' 'D /data/added' 'D /data/dir/new' \
		'== images left: 0')" "== podman diff${vn##*== podman diff}"
	echo "$vn" | grep -qx 'more'
	echo "$vn" | grep -qx '1000:1000 644'
	echo "$vn" | grep -qx 'denied'
	echo "$vn" | grep -qx '== images left: 0'
	# nothing stays mounted, no daemon stays behind
	[ -z "$(findmnt -rn -o TARGET | grep -F "$PM_WORK/vn/")" ]
	vn_wait_no_daemon "$PM_WORK/vn/"
}

@test "podman: the container's root is a veneerfs mount, reading .wh. layers" {
	PM_STORE=$PM_WORK/vn
	make_image
	pm load -q -i "$PM_WORK/image.tar" >/dev/null
	run pm_run --rm localhost/vnlayers sh -c \
		'grep " / / " /proc/self/mountinfo | sed "s/.* - //" | cut -d" " -f1'
	[ "$status" -eq 0 ]
	[ "$output" = fuse.veneerfs ]
	# With a mount_program the engine stores image layers with their .wh.
	# markers as they are (not as 0/0 devices): veneerfs reads that form.
	[ -n "$(find "$PM_STORE/root/overlay" -name .wh.gone)" ]
	run pm_run --rm localhost/vnlayers ls /data
	[ "$output" = "$(printf 'added\ndir\nkeep')" ]
	pm rmi localhost/vnlayers >/dev/null
	vn_wait_no_daemon "$PM_WORK/vn/"
}

# contrib/storage.conf as shipped, with this build's binary and private
# storage paths, switches podman to veneerfs with no storage flag.
@test "podman: contrib/storage.conf switches the engine to veneerfs" {
	PM_STORE=$PM_WORK/conf
	mkdir -p "$PM_STORE"
	sed -e "s|^mount_program = .*|mount_program = \"$VENEERFS\"|" \
		-e "s|^graphroot = .*|graphroot = \"$PM_STORE/root\"|" \
		-e "s|^runroot = .*|runroot = \"$PM_STORE/run\"|" \
		"$VN_TESTS/../contrib/storage.conf" >"$PM_STORE/storage.conf"
	grep -q "^mount_program = \"$VENEERFS\"" "$PM_STORE/storage.conf"
	make_image
	export CONTAINERS_STORAGE_CONF=$PM_STORE/storage.conf
	podman --tmpdir "$PM_STORE/tmp" --cgroup-manager cgroupfs \
		--runtime runc --events-backend file \
		load -q -i "$PM_WORK/image.tar" >/dev/null
	run podman --tmpdir "$PM_STORE/tmp" --cgroup-manager cgroupfs \
		--runtime runc --events-backend file run --rm --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		localhost/vnlayers sh -c \
		'grep " / / " /proc/self/mountinfo | sed "s/.* - //" | cut -d" " -f1; cat /data/keep'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'fuse.veneerfs\nkeep')" ]
	[ -d "$PM_STORE/root/overlay" ]
	podman --tmpdir "$PM_STORE/tmp" --events-backend file \
		rmi localhost/vnlayers >/dev/null
	vn_wait_no_daemon "$PM_STORE/"
}
