#!/usr/bin/env bats
# The wire-protocol fuzz corpus (tests/fuzz/corpus: seeds and every input
# the fuzzer found a fault with) replayed through the daemon's request
# handlers without the kernel. Each input must get exactly one reply per
# request, leak no fd, leave no caller's credentials on the thread, finish
# within 60 s and change nothing outside its backing tree (fuzz_wire.c).
# The libFuzzer run itself is `make fuzz-run` (tests/fuzz/README.md).

load helpers

setup() {
	[ "$(id -u)" -eq 0 ] || vn_skip "needs root (whiteout devices, trusted xattrs)"
	: "${FUZZ_REPLAY:=$(dirname "$VENEERFS")/../tests/fuzz/fuzz_replay}"
}

@test "fuzz corpus: every input replays clean" {
	local n
	n=$(ls "$VN_TESTS/fuzz/corpus" | wc -l)
	[ "$n" -ge 20 ]
	run "$FUZZ_REPLAY" "$VN_TESTS/fuzz/corpus"
	echo "$output" | tail -5
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "fuzz_replay: $n inputs replayed clean" ]
}

@test "fuzz replay: an input that escapes the tree is caught" {
	# The harness's own check must be able to fail: an input is replayed
	# with a sandbox whose canary changes behind its back.
	run env FUZZ_WIRE_SELF_TEST=escape "$FUZZ_REPLAY" \
		"$VN_TESTS/fuzz/corpus/seed-names-0"
	[ "$status" -ne 0 ]
	[[ "$output" == *"outside the tree"* ]]
}
