#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A foreign commit that is under way when the daemon applies (`systemctl reload nftables`: flush
# ruleset and a large file) must still be noticed. The kernel moves the generation when that commit
# begins but sends its NEWGEN only at its end, after the daemon's own commit; counting the daemon's
# pause from the generation read at its start took the foreign commit for the daemon's own, and
# the flushed chain stayed empty for good.
. "$(dirname "$0")/nft-lib.sh"

S1=$(spec s1 <<'X'
table inet allowlistd
chain allowlistd
group a families=v4 interval=0 comment=a
elem a 192.0.2.1 600
allow a tcp 80
group b families=v4 interval=0 comment=b
elem b 198.51.100.1 600
allow b tcp 81
X
)
# The "reload": one more address for a, so the apply sends a transaction (b and the chain unchanged).
S2=$(spec s2 <<'X'
table inet allowlistd
chain allowlistd
group a families=v4 interval=0 comment=a
elem a 192.0.2.1 600
elem a 192.0.2.2 600
allow a tcp 80
group b families=v4 interval=0 comment=b
elem b 198.51.100.1 600
allow b tcp 81
X
)
# The operator's ruleset: flush, then a table with a set whose commit takes some milliseconds
# (small enough that its events do not overflow the monitor's socket: that would be noticed anyway).
{
        echo "flush ruleset"
        echo "table inet other {"
        echo "set big {"
        echo "type ipv4_addr"
        echo "elements = {"
        awk 'BEGIN { for (i = 0; i < 5000; i++) printf "10.0.%d.%d,\n", i / 256, i % 256 }'
        echo "10.255.255.255 }"
        echo "}"
        echo "}"
} >"$WORK/reload.nft"

rules() { nft list chain inet allowlistd allowlistd 2>/dev/null | grep -c accept || true; }

"$NFT_DRIVER" monitor "$S1" 30 "$S2" >"$WORK/monitor.out" 2>&1 &
driver=$!
at_exit 'kill $driver 2>/dev/null; wait $driver 2>/dev/null'
_applied() { [[ "$(rules)" == 2 ]]; }
wait_until 5 _applied || fail "driver did not apply"
# As soon as the operator's commit has begun, the daemon applies (here: a reload of its own).
"$NFT_DRIVER" kick-on-generation "$driver" >"$WORK/kick.out" &
kick=$!
wait_until 5 grep -q ready "$WORK/kick.out" || fail "generation poller did not start"
nft -f "$WORK/reload.nft" || fail "nft -f of the operator's ruleset failed"
wait "$kick" || fail "the generation poller failed"

_restored() { [[ "$(rules)" == 2 && "$(elements inet allowlistd b_v4)" == 198.51.100.1 ]]; }
wait_until 3 _restored || fail "the flush by the operator's reload was not repaired: $(rules) rules, b_v4: $(elements inet allowlistd b_v4)"
expect_eq "a_v4 after the repair" "$(elements inet allowlistd a_v4 | tr '\n' ' ')" "192.0.2.1 192.0.2.2 "
expect_eq "the operator's table" "$(nft list tables | grep -c 'table inet other')" "1"
echo OK
