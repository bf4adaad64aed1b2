#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nft_apply_async(): transactions sent and acknowledged through the event loop. They commit
# exactly as nft_apply() does (the last content is in the kernel, each after the first as a
# difference), and while another process keeps the nftables commit lock busy with big
# transactions of its own, the loop keeps running: a 5 ms timer ticks through the time our
# transactions wait (with nft_apply() it cannot tick at all).
. "$(dirname "$0")/nft-lib.sh"

A=$(spec a <<'X'
table inet allowlistd
chain allowlistd
group t families=v4
range t 10.0.0.0 1000 3600
elem t 192.0.2.1 3600 one.example
allow t tcp 443
X
)
B=$(spec b <<'X'
table inet allowlistd
chain allowlistd
group t families=v4
range t 10.0.0.0 1000 3600
elem t 192.0.2.2 3600 two.example
allow t tcp 443
X
)

out=$("$NFT_DRIVER" async "$A" "$B" 20) || fail "async transactions failed: $out"
assert_match '^committed 20 failed 0 ' "$out" "20 transactions committed through the loop"
# The last of 20 is B (A, B, A, ...).
assert_eq "1001 192.0.2.2" "$(elements inet allowlistd t_v4 | wc -l) $(elements inet allowlistd t_v4 | grep '^192')" \
        "the last content is in the kernel"

# Someone else's big transactions, one after the other, in a table of their own.
awk 'BEGIN { print "add table inet other"; print "add set inet other big { type ipv4_addr; }";
             print "flush set inet other big";
             for (i = 0; i < 200000; i++) {
                     if (i % 1000 == 0) printf "add element inet other big { ";
                     printf "%s%d.%d.%d.%d", (i % 1000 ? ", " : ""), 20, int(i / 65536) % 256, int(i / 256) % 256, i % 256;
                     if (i % 1000 == 999) print " }" } }' >"$WORK/big.nft"
nft -f "$WORK/big.nft"
( while :; do nft -f "$WORK/big.nft"; done ) &
loader=$!
at_exit sh -c "kill $loader 2>/dev/null || true"
sleep 0.5
out=$("$NFT_DRIVER" async "$A" "$B" 40) || fail "async transactions under load failed: $out"
kill "$loader"; wait "$loader" 2>/dev/null || true
echo "$out"
assert_match '^committed 40 failed 0 ' "$out" "40 transactions committed while another process commits"
read -r ticks blocked total < <(awk '{ print $6, $10, $12 }' <<<"$out")
# The loop ran through the waits: at least a quarter of the 5 ms ticks the time in flight
# allows, on a loaded machine (nft_apply() gives none), and no call held it for long.
awk -v t="$ticks" -v total="$total" 'BEGIN { exit !(t * 5 >= total / 4 - 25) }' ||
        fail "the loop ticked $ticks times in ${total} ms of transactions in flight"
awk -v b="$blocked" 'BEGIN { exit !(b < 1000) }' || fail "nft_apply_async() held the loop for ${blocked} ms"
echo "ok: the loop ticked $ticks times during ${total} ms of transactions in flight"
