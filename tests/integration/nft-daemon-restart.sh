#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real daemon across restarts: the sets an earlier run created are still the daemon's own
# (its mark in their userdata), so when the configuration now gives a group static prefixes and
# its sets need flags interval, they are recreated in the transaction, whether the change comes
# with a restart or with SIGHUP after one. Without that, start-up failed with "exists without
# flags interval" (exit 1, a Restart=on-failure loop) and after SIGHUP every apply failed.
# Last, on_exit=remove when the operator put a set of its own into the daemon's table: the
# daemon's objects go, the table stays, exit 0.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
$1

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 60s
$2"
}

flags() {
        nft -j list set inet allowlistd "$1" | jq -c '.nftables[] | select(.set) | .set.flags'
}

no_failures() {
        if grep -q 'Failed' "$DAEMON_LOG"; then fail "$1: $(grep 'Failed' "$DAEMON_LOG" | head -n 3)"; fi
        echo "ok: $1: nothing failed"
}

# ---- restart with a static prefix added: the set of the earlier run is recreated
config "" ""
daemon_start
assert_eq '["timeout"]' "$(flags ga_v4)" "first run: DNS only, no interval"
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "first run: exit code"

: >"$DAEMON_LOG"
config "" "addresses = 203.0.113.0/24"
daemon_start
assert_eq '["interval","timeout"]' "$(flags ga_v4)" "restart: the earlier run's set recreated with interval"
assert_eq $'192.0.2.1\n203.0.113.0/24' "$(set_elements inet allowlistd ga_v4)" "restart: DNS and static elements"
assert_eq "2001:db8::1" "$(set_elements inet allowlistd ga_v6)" "restart: the v6 set keeps its content"
assert_eq '"ga"' "$(nft -j list chain inet allowlistd allowlistd | jq -c '[.nftables[] | select(.rule) | .rule.comment] | unique | .[]')" \
        "restart: the rules are back"
no_failures "restart"
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "restart: exit code"

# ---- an earlier run, a restart with the same configuration, then SIGHUP adds the prefix
nft delete table inet allowlistd
config "" ""
daemon_start
daemon_stop TERM
: >"$DAEMON_LOG"
daemon_start
assert_eq '["timeout"]' "$(flags ga_v4)" "second run: set of the earlier run, no interval"
config "" "addresses = 203.0.113.0/24"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ "$(nft list set inet allowlistd ga_v4)" == *203.0.113.0/24* ]]' ||
        fail "SIGHUP: the prefix never arrived: $(tail -n 5 "$DAEMON_LOG")"
assert_eq '["interval","timeout"]' "$(flags ga_v4)" "SIGHUP: the earlier run's set recreated with interval"
assert_eq $'192.0.2.1\n203.0.113.0/24' "$(set_elements inet allowlistd ga_v4)" "SIGHUP: DNS and static elements"
# And applies go on.
config "" "addresses = 203.0.113.0/24 198.51.100.0/24"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ "$(nft list set inet allowlistd ga_v4)" == *198.51.100.0/24* ]]' ||
        fail "SIGHUP: no apply after the recreation: $(tail -n 5 "$DAEMON_LOG")"
no_failures "SIGHUP"
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "SIGHUP: exit code"

# ---- on_exit=remove, the daemon made the table, the operator adds a set of its own to it
nft delete table inet allowlistd
: >"$DAEMON_LOG"
config "on_exit = remove" ""
daemon_start
nft add set inet allowlistd operator_hosts '{ type ipv4_addr; }'
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "remove with an operator's set in our table: exit code"
assert_eq "operator_hosts" "$(nft -j list table inet allowlistd | jq -r '[.nftables[] | select(.set or .chain) | (.set // .chain).name] | join(" ")')" \
        "remove: only the operator's set is left, in the table that stays"
if grep -qi 'double free\|AddressSanitizer' "$DAEMON_LOG"; then fail "remove: $(grep -i 'double free\|AddressSanitizer' "$DAEMON_LOG" | head -n 1)"; fi
no_failures "remove"
echo OK
