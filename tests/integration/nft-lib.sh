# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by tests/integration/nft-*.sh: re-executes the test in a private network namespace,
# skips (exit 77) without root or nf_tables, and gives small assertion helpers.

if [ -z "$NFT_TEST_NETNS" ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
        command -v nft >/dev/null && command -v jq >/dev/null || { echo "SKIP: needs nft and jq"; exit 77; }
        [ -x "$NFT_DRIVER" ] || { echo "SKIP: NFT_DRIVER not built"; exit 77; }
        NFT_TEST_NETNS=1 exec unshare -n "$0" "$@"
        echo "SKIP: unshare -n failed"; exit 77
fi
ip link set lo up
nft add table inet probe 2>/dev/null || { echo "SKIP: no nf_tables"; exit 77; }
nft delete table inet probe

set -e
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

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
