# The documentation against the program: the man page lints clean and
# names every option --help lists; the README's setup command installs
# what CI installs.
load helpers

TOP=$VN_TESTS/..
MAN=$TOP/man/veneerfs.1

@test "docs: the man page lints clean" {
	command -v man >/dev/null || vn_skip "needs man (man-db)"
	run bash -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$MAN' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# and it renders to something with each section
	run bash -c "MANWIDTH=80 man -l '$MAN' 2>/dev/null"
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "OVERLAY MODE" \
		"CONTAINER ENGINES" "MOUNTING WITH MOUNT(8), FSTAB AND SYSTEMD" \
		LOGGING "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "$sec" <<<"$output" || { echo "no $sec" >&2; false; }
	done
}

# The option names of --help: "-o name", "-o name=...", and the names
# listed after them with commas.
help_options() {
	"$VENEERFS" --help | sed -n '/options:$/,$p' |
		grep -E '^ +-o |^ {1,8}[a-z_]+[,= (]' |
		sed -E 's/^ +-o +//; s/^ +//; s/ {2,}.*//' | tr ',' '\n' |
		sed -E 's/^ +//; s/[=|].*//; s/ .*//' | grep -E '^[a-z_]+$' |
		sort -u
}

@test "docs: the man page describes every option of --help" {
	local opts missing=
	opts=$(help_options)
	# sanity: the list is what it should be made of
	[ "$(wc -l <<<"$opts")" -ge 30 ]
	grep -qx lowerdir <<<"$opts"
	grep -qx xattr_permissions <<<"$opts"
	grep -qx max_idle_threads <<<"$opts"
	grep -qx default_permissions <<<"$opts"
	grep -qx fsname <<<"$opts"
	for o in $opts; do
		# as a bold name in the OPTIONS or overlay options lists
		grep -qE "^\.(B|BR|BI) +${o}(\$|[ =])|^\.BR .*\"?, \"? ?${o}\b|^\.BR ${o}\b" "$MAN" ||
			missing="$missing $o"
	done
	[ -z "$missing" ] || { echo "not in the man page:$missing" >&2; false; }
}

@test "docs: the README's setup command installs what CI installs" {
	local readme_pkgs ci_pkgs p missing=
	readme_pkgs=$(grep -m1 '^apt-get update && apt-get install' "$TOP/README.md" |
		sed 's/.*install -y //; s/ &&.*//')
	[ -n "$readme_pkgs" ]
	ci_pkgs=$(sed -n '/^deps="/,/"$/p' "$TOP/.ci/run" |
		sed 's/deps="//; s/"//' | tr -s ' \t' '\n')
	[ "$(wc -w <<<"$ci_pkgs")" -ge 10 ]
	for p in $ci_pkgs; do
		[[ " $readme_pkgs " == *" $p "* ]] || missing="$missing $p"
	done
	[ -z "$missing" ] || { echo "not in the README:$missing" >&2; false; }
}
