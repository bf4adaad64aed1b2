# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Sourced by tests/integration/nft-*.sh, which drive the nft module alone through nft-driver
# ($NFT_DRIVER): lib.sh's private namespace, temp dir and skips, plus helpers for the driver's
# spec files and for reading sets back.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
[[ -x "${NFT_DRIVER:-}" ]] || skip "NFT_DRIVER not built"
WORK="$TEST_DIR"

# fail MESSAGE: lib.sh's, with the ruleset, which is what an nft test's failure is about.
fail() {
        echo "FAIL: $*" >&2
        echo "--- ruleset:" >&2
        nft list ruleset 2>&1 | head -n 60 >&2 || true
        exit 1
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
        [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# spec NAME: writes stdin to $WORK/NAME and prints the path
spec() {
        cat >"$WORK/$1"
        echo "$WORK/$1"
}

# set_json FAMILY TABLE SET: the set object of nft -j
set_json() {
        nft -j list set "$1" "$2" "$3" | jq -c '.nftables[] | select(.set) | .set'
}

# elements FAMILY TABLE SET: one element a line, "addr" or "addr/len", sorted
elements() {
        set_json "$1" "$2" "$3" | jq -r '(.elem // [])[] |
                if type == "string" then .
                elif .elem then (.elem.val | if type == "string" then . else "\(.prefix.addr)/\(.prefix.len)" end)
                elif .prefix then "\(.prefix.addr)/\(.prefix.len)"
                else tostring end' | sort
}
