#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Provenance in the kernel: each address learned from DNS carries a comment naming the host that
# brought it, so `nft list set` alone answers "why is this allowed"; a static address carries
# none (it is the operator's); the --dry-run script says the same.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set csall.vendor.test 198.51.100.21 2001:db8::21
dns_set other.vendor.test 198.51.100.22
dns_start

daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state

[g]
hosts = csall.vendor.test other.vendor.test
addresses = 203.0.113.5
allow = tcp/443
validity = 7d"

"$ALLOWLISTD" -c "$DAEMON_CONF" --once || fail "--once failed"

# "ADDRESS COMMENT" lines, "-" where there is none
comments() {
        nft -j list set inet allowlistd "$1" | jq -r '.nftables[] | select(.set) | .set.elem[] |
                if type == "object" then "\(.elem.val) \(.elem.comment // "-")" else "\(.) -" end' | sort
}
assert_eq $'198.51.100.21 csall.vendor.test\n198.51.100.22 other.vendor.test\n203.0.113.5 -' \
        "$(comments g_v4)" "each learned IPv4 address names its host, the static one nothing"
assert_eq "2001:db8::21 csall.vendor.test" "$(comments g_v6)" "the IPv6 address names its host"
assert_match 'comment "csall.vendor.test"' "$(nft list set inet allowlistd g_v4)" "nft list set shows the comment"

"$ALLOWLISTD" -c "$DAEMON_CONF" --once --dry-run >"$TEST_DIR/script" || fail "--dry-run failed"
assert_match '198\.51\.100\.21 timeout [0-9]+s comment "csall\.vendor\.test"' "$(cat "$TEST_DIR/script")" \
        "the --dry-run script carries the comment"
nft flush ruleset
nft -f "$TEST_DIR/script" || fail "nft -f refuses the --dry-run script"
assert_eq $'198.51.100.21 csall.vendor.test\n198.51.100.22 other.vendor.test\n203.0.113.5 -' \
        "$(comments g_v4)" "nft -f of the script gives the same comments"
