#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real daemon with the documented operator setup (nftables.conf declares the table, the
# daemon's chain and a set, jumps to the chain and uses the set in its own rule): a reload that
# drops the used group still applies (the set is flushed, not a rolled-back transaction), and
# later changes keep applying; on_exit=remove then leaves the operator's references working.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

nft -f - <<'X'
table inet filter {
        set gb_v4 {
                type ipv4_addr
                flags interval,timeout
        }
        chain allowlistd {
        }
        chain forward {
                type filter hook forward priority 0; policy drop;
                jump allowlistd
                ip saddr @gb_v4 counter accept
        }
}
X
config() {
        daemon_config "[daemon]
table = inet filter
chain = allowlistd
state_file = $TEST_DIR/state
on_exit = remove
$1"
}
ga="
[ga]
addresses = 192.0.2.1
allow = tcp/443
"
gb="
[gb]
addresses = 198.51.100.0/24
allow = udp/3478
"
config "$ga$gb"
daemon_start
assert_eq "198.51.100.0/24" "$(set_elements inet filter gb_v4)" "operator-declared set filled"

# Reload without gb: its set is still used by the operator's rule.
config "$ga"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ -z "$(nft list set inet filter gb_v4 | grep elements)" ]]' || fail "gb_v4 not flushed after the reload"
assert_eq "" "$(nft list chain inet filter allowlistd | grep gb_ || true)" "gb's rules gone"
assert_eq "ga_v4 ga_v6 gb_v4" "$(nft -j list sets inet | jq -r '[.nftables[] | select(.set) | .set.name] | sort | join(" ")')" \
        "gb_v4 kept (flushed), gb_v6 deleted"

# And the daemon keeps applying: a new address for ga.
config "
[ga]
addresses = 192.0.2.1 192.0.2.2
allow = tcp/443
"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ "$(nft list set inet filter ga_v4)" == *192.0.2.2* ]]' || fail "no apply after the reload that dropped a used group"
if grep -q 'Failed to apply' "$DAEMON_LOG"; then fail "an apply failed: $(grep 'Failed to apply' "$DAEMON_LOG" | head -n 1)"; fi
echo "ok: applies go on after a used group vanished"

# on_exit=remove: the chain the operator jumps to is flushed and kept, the sets go.
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "SIGTERM exits 0"
if grep -q 'Failed to remove' "$DAEMON_LOG"; then fail "removal failed: $(grep 'Failed to remove' "$DAEMON_LOG" | head -n 1)"; fi
assert_eq "allowlistd forward" "$(nft -j list chains inet | jq -r '[.nftables[] | select(.chain) | .chain.name] | sort | join(" ")')" \
        "chains after on_exit=remove"
assert_eq "0" "$(nft -j list chain inet filter allowlistd | jq '[.nftables[] | select(.rule)] | length')" "our chain flushed"
assert_eq "gb_v4" "$(nft -j list sets inet | jq -r '[.nftables[] | select(.set) | .set.name] | sort | join(" ")')" \
        "only the operator's used set left"
echo OK
