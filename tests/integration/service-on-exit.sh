#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the real daemon leaves in the kernel when it stops (`on_exit =` in [daemon]):
#   keep (default): SIGTERM leaves the sets, their elements (with their timeouts) and the chain;
#   remove: SIGTERM deletes the daemon's sets and chain, and the table when the daemon created it;
#           a table that existed before (the operator's, or one a previous run left) stays, with
#           the operator's own objects untouched; SIGINT does the same as SIGTERM;
#   remove while the operator's chain still jumps to the daemon's chain: the kernel refuses
#           (EBUSY), the daemon says so and leaves everything as it was (one transaction).
# The state file is saved in every case.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2
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

[gb]
hosts = b.vendor.test
addresses = 203.0.113.0/24
allow = udp/3478
validity = 60s"
}

table_objects() {
        # "set NAME" and "chain NAME" lines of table inet allowlistd, sorted; nothing when it is gone.
        nft -j list table inet allowlistd 2>/dev/null |
                jq -r '.nftables[] | (select(.set) | "set \(.set.name)"), (select(.chain) | "chain \(.chain.name)")' | sort
}

ours=$'chain allowlistd\nset ga_v4\nset ga_v6\nset gb_v4\nset gb_v6'

stop_and_check_state() {
        rm -f "$TEST_DIR/state"
        daemon_stop "$1"
        assert_eq 0 "$DAEMON_RC" "$2: exit code"
        assert_eq $'192.0.2.1\n198.51.100.2\n2001:db8::1' "$(awk '$1 == "address" { print $4 }' "$TEST_DIR/state" | sort)" \
                "$2: state file saved on the way out"
}

# ---- default (keep): everything stays, elements with their timeouts
config ""
daemon_start
assert_eq "$ours" "$(table_objects)" "keep: the daemon's objects while running"
stop_and_check_state TERM "keep"
assert_eq "$ours" "$(table_objects)" "keep: every object stays after SIGTERM"
assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "keep: ga_v4 elements stay"
assert_eq "2001:db8::1" "$(set_elements inet allowlistd ga_v6)" "keep: ga_v6 elements stay"
assert_eq $'198.51.100.2\n203.0.113.0/24' "$(set_elements inet allowlistd gb_v4)" "keep: gb_v4 elements (DNS and static) stay"
read -r elem timeout expires < <(set_timeouts inet allowlistd ga_v4)
assert_eq "192.0.2.1 60" "$elem $timeout" "keep: the element keeps its timeout"
(( expires > 0 && expires <= 60 )) || fail "keep: element expires in $expires s, expected (0, 60]"
echo "ok: keep: the element expires by itself in ${expires}s"
assert_eq "203.0.113.0/24 - -" "$(set_timeouts inet allowlistd gb_v4 | grep '^203')" "keep: the static prefix has no timeout"
assert_eq 4 "$(nft -j list chain inet allowlistd allowlistd | jq '[.nftables[] | select(.rule)] | length')" "keep: the rules stay"

# ---- remove, the daemon created the table: all of it goes
nft delete table inet allowlistd
config "on_exit = remove"
daemon_start
assert_eq "$ours" "$(table_objects)" "remove: the daemon's objects while running"
stop_and_check_state TERM "remove"
assert_eq "" "$(nft list tables)" "remove: SIGTERM deletes the sets, the chain and the table the daemon created"

# ---- remove, the table was there before (left by a previous run): it stays, empty
config ""
daemon_start
daemon_stop TERM
config "on_exit = remove"
daemon_start
stop_and_check_state TERM "remove, table from a previous run"
assert_eq "table inet allowlistd" "$(nft list tables)" "remove: a table the daemon did not create in this run stays"
assert_eq "" "$(table_objects)" "remove: ... with nothing of the daemon's left in it"

# ---- remove, SIGINT, the operator's table with objects of its own
nft delete table inet allowlistd
nft -f - <<'EOF'
table inet allowlistd {
        set operator_hosts { type ipv4_addr; elements = { 192.0.2.200 } }
        chain operator_forward {
                type filter hook forward priority 0; policy accept;
                ip daddr @operator_hosts accept
        }
}
EOF
operator_before="$(nft list chain inet allowlistd operator_forward)"
daemon_start
assert_eq "chain allowlistd
chain operator_forward
set ga_v4
set ga_v6
set gb_v4
set gb_v6
set operator_hosts" "$(table_objects)" "remove: the daemon's objects next to the operator's"
stop_and_check_state INT "remove, SIGINT"
assert_eq $'chain operator_forward\nset operator_hosts' "$(table_objects)" "remove: only the operator's objects are left"
assert_eq "192.0.2.200" "$(set_elements inet allowlistd operator_hosts)" "remove: the operator's set untouched"
assert_eq "$operator_before" "$(nft list chain inet allowlistd operator_forward)" "remove: the operator's chain untouched"

# ---- remove while the operator jumps to the daemon's chain: the chain cannot go, so it is
# flushed (it accepts nothing any more) and reported; the sets go; the operator's chain stays
nft delete table inet allowlistd
nft -f - <<'EOF'
table inet allowlistd {
        chain allowlistd { }
        chain operator_forward {
                type filter hook forward priority 0; policy accept;
                jump allowlistd
        }
}
EOF
operator_before="$(nft list chain inet allowlistd operator_forward)"
daemon_start
: >"$DAEMON_LOG"
stop_and_check_state TERM "remove, chain still referenced"
assert_eq $'chain allowlistd\nchain operator_forward' "$(table_objects)" \
        "remove, chain still referenced: only the two chains are left"
assert_eq "" "$(nft list chain inet allowlistd allowlistd | grep -E 'accept|daddr' || true)" \
        "remove, chain still referenced: the daemon's chain is empty"
assert_eq "$operator_before" "$(nft list chain inet allowlistd operator_forward)" \
        "remove, chain still referenced: the operator's chain untouched"
assert_match 'chain inet allowlistd allowlistd.*flushed' "$(cat "$DAEMON_LOG")" \
        "remove, chain still referenced: the warning names the chain and what was done"
