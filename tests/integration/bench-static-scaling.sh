#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (meson benchmark, not a test): whole-process `allowlistd --once` with 10,000, 100,000
# and 1,000,000 static IPv4 addresses in one group (no DNS names), into a fresh table each time.
# Prints every run, the medians per size of the wall-clock time and of the process's own CPU
# time in user space (allowlistd's algorithms; the system time is mostly the kernel inserting
# elements), the time per entry, and the exponent k of time ~ n^k fitted over the medians (least
# squares on log-log): about 1 when the cost grows as n log n, 2 when it grows with the square.
# Deleting a table of a million elements leaves the kernel freeing them for a while after `nft
# delete table` returns: each run waits a second after it.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"

RUNS=${RUNS:-3}
SIZES=(${SIZES:-10000 100000 1000000})

median() {
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

results=()
for n in "${SIZES[@]}"; do
        conf="$TEST_DIR/static-$n.conf"
        awk -v n="$n" -v state="$TEST_DIR/state" 'BEGIN {
                printf "[daemon]\nstate_file = %s\n\n[big]\nallow = tcp/443\naddresses =\n", state
                for (i = 0; i < n; i++)
                        printf "  %d.%d.%d.%d\n", 16 + int(i / 16777216), int(i / 65536) % 256, int(i / 256) % 256, i % 256
        }' >"$conf"
        times=() users=()
        for (( run = 1; run <= RUNS; run++ )); do
                nft delete table inet allowlistd 2>/dev/null && sleep 1
                rm -f "$TEST_DIR/state"
                TIMEFORMAT='%3R %3U %3S'
                { time "$ALLOWLISTD" -c "$conf" --once 2>"$TEST_DIR/err" ; } 2>"$TEST_DIR/time" ||
                        fail "--once with $n statics failed: $(tail -n 5 "$TEST_DIR/err")"
                read -r real user sys <"$TEST_DIR/time"
                got="$(nft -j list set inet allowlistd big_v4 | jq '[.nftables[] | select(.set) | .set.elem // [] | .[]] | length')"
                assert_eq "$n" "$got" "$n statics: every one in the kernel"
                ms="$(awk -v s="$real" 'BEGIN { printf "%d", s * 1000 }')"
                user_ms="$(awk -v s="$user" 'BEGIN { printf "%d", s * 1000 }')"
                echo "run $run: $n statics, --once ${ms} ms (user ${user} s, system ${sys} s)"
                times+=("$ms")
                users+=("$user_ms")
        done
        results+=("$n $(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${users[@]}" | median)")
        rm -f "$conf"
done
nft delete table inet allowlistd 2>/dev/null || true

echo "allowlistd --once with static addresses (median of $RUNS runs):"
printf '%s\n' "${results[@]}" | awk '
function fit(sx, sy, sxx, sxy) { return (n * sxy - sx * sy) / (n * sxx - sx * sx) }
{
        printf "  %8d statics: %7d ms (%.2f us per entry), user CPU %6d ms (%.2f us per entry)\n",
                $1, $2, $2 * 1000 / $1, $3, $3 * 1000 / $1
        x = log($1); y = log($2 > 0 ? $2 : 1); u = log($3 > 0 ? $3 : 1); n++
        sx += x; sxx += x * x; sy += y; sxy += x * y; su += u; sxu += x * u
} END {
        if (n > 1)
                printf "  fitted exponent (time ~ n^k): wall-clock k = %.2f, user CPU k = %.2f\n",
                        fit(sx, sy, sxx, sxy), fit(sx, su, sxx, sxu)
}'
