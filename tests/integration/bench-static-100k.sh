#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: the whole process `allowlistd --once` with 100,000 static IPv4 addresses
# in one group, against `nft -f` of the same set (type ipv4_addr, flags timeout, one rule), each
# into an empty ruleset; medians in seconds and the ratio (target: allowlistd at least 2.5 times
# faster). RUNS (default 5) sets the runs of each; COUNT (default 100000) the addresses.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
set +e
RUNS=${RUNS:-5}
COUNT=${COUNT:-100000}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ns() { date +%s%N; }

# 11.0.0.0 onwards: public addresses, as the configuration accepts for a static entry.
addresses() {
        awk -v n="$COUNT" 'BEGIN { for (i = 0; i < n; i++)
                printf "%d.%d.%d.%d\n", 11 + int(i / 16777216), int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'
}
{
        printf '[daemon]\nstate_file = %s/state\n\n[bulk]\nallow = tcp/443\naddresses =\n' "$TEST_DIR"
        addresses | awk '{ printf "%s%s", NR % 8 == 1 ? "  " : " ", $1 } NR % 8 == 0 { print "" } END { print "" }'
} >"$TEST_DIR/static.conf"
{
        echo 'add table inet allowlistd'
        echo 'add set inet allowlistd bulk_v4 { type ipv4_addr; flags timeout; }'
        echo 'add chain inet allowlistd allowlistd'
        echo 'add rule inet allowlistd allowlistd ip daddr @bulk_v4 tcp dport 443 counter accept'
        addresses | awk '{ printf "%s%s", NR % 64 == 1 ? "add element inet allowlistd bulk_v4 { " : ", ", $1 }
                         NR % 64 == 0 { print " }" } END { if (NR % 64) print " }" }'
} >"$TEST_DIR/static.nft"

for i in $(seq "$RUNS"); do
        nft flush ruleset
        rm -f "$TEST_DIR/state"
        t0=$(now_ns); "$ALLOWLISTD" -c "$TEST_DIR/static.conf" --once >/dev/null 2>"$TEST_DIR/err"; rc=$?; t1=$(now_ns)
        [ "$rc" = 0 ] || { echo "allowlistd --once failed ($rc): $(head -n 3 "$TEST_DIR/err")"; exit 1; }
        echo "$(( (t1 - t0) / 1000 ))" >>"$TEST_DIR/ours"
        n=$(nft -j list set inet allowlistd bulk_v4 | jq '[.nftables[] | select(.set) | .set.elem // [] | length] | add')
        [ "$n" = "$COUNT" ] || { echo "allowlistd left $n elements, expected $COUNT"; exit 1; }

        nft flush ruleset
        t0=$(now_ns); nft -f "$TEST_DIR/static.nft"; t1=$(now_ns)
        echo "$(( (t1 - t0) / 1000 ))" >>"$TEST_DIR/theirs"
done
ours=$(median <"$TEST_DIR/ours" | awk '{ printf "%.3f", $1 / 1e6 }')
theirs=$(median <"$TEST_DIR/theirs" | awk '{ printf "%.3f", $1 / 1e6 }')
printf '%-28s %10s %10s %8s\n' "$COUNT static IPv4" "allowlistd" "nft -f" ratio
printf '%-28s %9ss %9ss %7sx\n' "--once, medians of $RUNS" "$ours" "$theirs" \
        "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", b / a }')"
