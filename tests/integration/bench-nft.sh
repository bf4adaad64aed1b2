#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: in a private netns, applies 10,000 and 100,000 IPv4 elements (flush +
# add of the whole set, every run) through the nft module, with and without the event monitor,
# and the same content through `nft -f`; prints medians in ms and the ratio.
. "$(dirname "$0")/nft-lib.sh"
set +e
RUNS=${RUNS:-7}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ns() { date +%s%N; }

printf '%-9s %12s %14s %12s %8s\n' elements "netlink ms" "+monitor ms" "nft -f ms" ratio
for n in 10000 100000; do
        S=$(spec "s$n" <<X
table inet allowlistd
chain allowlistd
group bench families=v4 interval=0 comment=bench
range bench 10.0.0.0 $n 3600
allow bench tcp 443
X
)
        ours=$("$NFT_DRIVER" bench "$S" "$RUNS")
        withmon=$("$NFT_DRIVER" bench "$S" "$RUNS" monitor)
        # nft -f: the same transaction as text (flush set + add element).
        "$NFT_DRIVER" script "$S" >"$WORK/script"
        nft -f "$WORK/script"
        for i in $(seq "$RUNS"); do
                t0=$(now_ns); nft -f "$WORK/script"; t1=$(now_ns)
                echo "$(( (t1 - t0) / 1000 ))"
        done | median >"$WORK/nft"
        theirs=$(awk '{ printf "%.2f", $1 / 1000 }' "$WORK/nft")
        ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", b / a }')
        printf '%-9s %12s %14s %12s %7sx\n' "$n" "$ours" "$withmon" "$theirs" "$ratio"
        nft flush ruleset
done

# A first start: 100,000 static addresses into an empty ruleset (the set is created, with its
# size hint), against nft -f of the same into an empty ruleset.
S=$(spec static <<X
table inet allowlistd
chain allowlistd
group bench families=v4 interval=0 comment=bench
range bench 11.0.0.0 100000 -
allow bench tcp 443
X
)
ours=$("$NFT_DRIVER" bench "$S" "$RUNS" fresh)
"$NFT_DRIVER" script "$S" >"$WORK/script"
for i in $(seq "$RUNS"); do
        nft flush ruleset
        t0=$(now_ns); nft -f "$WORK/script"; t1=$(now_ns)
        echo "$(( (t1 - t0) / 1000 ))"
done | median >"$WORK/nft"
theirs=$(awk '{ printf "%.2f", $1 / 1000 }' "$WORK/nft")
ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", b / a }')
printf '%-9s %12s %14s %12s %7sx\n' "100000s" "$ours" "-" "$theirs" "$ratio"
echo "(100000s: static addresses into an empty ruleset, the set created with its size hint)"
