#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (figures): the hold bound while another process keeps the nftables commit lock busy
# with a transaction of 800,000 elements, while a client behind the gateway asks for new names
# below a snooped domain, one after another. The daemon's own transactions wait for the lock
# inside the kernel (in their send thread), the loop goes on, and replies that waited until
# snoop_hold_max = 200ms are released and counted. Prints the replies' latencies, how many
# were released on the bound and how long the other transaction took.
#
# A benchmark, not a test: the other transaction's length and the load it puts on a shared
# machine vary from run to run (the suite's deterministic test of the bound is
# snoop-slow-send, which slows the daemon's own sends by a known time). Run it with
# meson test -C build --benchmark snoop-slow-commit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

: >"$TEST_DIR/outside.hosts"
OUTSIDE_DNS_ARGS=(--synth-domain=bulk.senso.cloud,198.18.0.0/16)
snoop_topology

snoop_config "snoop_hold_max = 200ms
metrics_file = $TEST_DIR/metrics.prom" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"
daemon_start

awk 'BEGIN {
        print "add table inet slow"
        print "add set inet slow s { type ipv4_addr; }"
        for (k = 0; k < 800000; k += 20000) {
                line = "add element inet slow s {"
                for (i = k; i < k + 20000; i++)
                        line = line sprintf("%s 11.%d.%d.%d", i == k ? "" : ",", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
                print line " }"
        }
}' >"$TEST_DIR/big.nft"

# Ask in rounds of one second (each answer a transaction: a new address or a longer lifetime)
# for as long as the other transaction runs: its time in the kernel,
# with the lock, is somewhere in it.
start=$(date +%s%N)
nft -f "$TEST_DIR/big.nft" &
big=$!
out=""
while kill -0 "$big" 2>/dev/null; do
        out+=$(in_client "$SNOOP_CLIENT" --bench 192.0.2.53 "198-18-{}.bulk.senso.cloud" 1 || true)$'\n'
done
wait "$big" || fail "the big transaction failed"
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"

late=$(awk '$1 == "allowlistd_snoop_replies_released_on_bound_total" { print $2 }' "$TEST_DIR/metrics.prom")
max=$(awk '{ for (i = 1; i < NF; i++) if ($i == "max_us" && $(i + 1) > m) m = $(i + 1) } END { print m + 0 }' <<<"$out")
p99=$(awk '{ for (i = 1; i < NF; i++) if ($i == "p99_us" && $(i + 1) > m) m = $(i + 1) } END { print m + 0 }' <<<"$out")
replies=$(awk '{ for (i = 1; i < NF; i++) if ($i == "replies") s += $(i + 1) } END { print s + 0 }' <<<"$out")
timeouts=$(awk '{ for (i = 1; i < NF; i++) if ($i == "timeouts") s += $(i + 1) } END { print s + 0 }' <<<"$out")
echo "other transaction (800,000 elements): ${took} ms"
echo "replies: $replies, timeouts (over 2 s): $timeouts, released on snoop_hold_max = 200ms: ${late:-0}"
echo "latency: worst p99 of a 1 s round $((p99 / 1000)) ms, longest $((max / 1000)) ms"
(( timeouts == 0 )) || fail "a reply did not reach the client within 2 s"
