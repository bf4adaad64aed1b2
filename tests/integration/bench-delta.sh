#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: one changed address in a set of 100,000 (one replaced, one lifetime
# extended, as one changed answer does) through the nft module: the transaction's time and
# bytes as a difference against a full refill of the same set, with the lifetime extended in
# place (Linux 6.12 and later) and by delete + add (before); medians of RUNS (default 21).
. "$(dirname "$0")/nft-lib.sh"
set +e
RUNS=${RUNS:-21}

A=$(spec a <<X
table inet allowlistd
chain allowlistd
group bench families=v4
range bench 10.0.0.0 100000 3600
elem bench 192.0.2.1 3600
elem bench 198.51.100.7 600
allow bench tcp 443
X
)
B=$(spec b <<X
table inet allowlistd
chain allowlistd
group bench families=v4
range bench 10.0.0.0 100000 3600
elem bench 192.0.2.2 3600
elem bench 198.51.100.7 900
allow bench tcp 443
X
)
printf '%-10s %11s %10s %12s %12s %10s\n' update "delta ms" "bytes" "refill ms" "bytes" speedup
for mode in in-place replace; do
        nft flush ruleset
        NFT_DRIVER_UPDATE=$mode "$NFT_DRIVER" bench-delta "$A" "$B" "$RUNS" |
                awk -v m="$mode" '$1 == "delta" { printf "%-10s %11s %10s %12s %12s %9.0fx\n", m, $2, $3, $5, $6, $5 / $2 }'
done
