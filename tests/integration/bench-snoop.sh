#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (figures, not pass/fail) of the latency snooping adds to DNS replies, through the
# gateway topology of snoop-lib.sh. A client behind the gateway sends queries one after another
# for BENCH_SECONDS (10) each round, every query a new name (dnsmasq synthesises them):
#   baseline        no snooping chains at all
#   non-matching    snooping on, names outside every domain (accepted at once)
#   matching        snooping on, names below a domain, each a new address (one transaction per
#                   reply: a sequential client never lets two coalesce)
#   parallel        snooping on, 4 clients at once, non-matching: replies per second in all
# and prints p50/p99 of each and the added latency against the baseline.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

SECONDS_EACH=${BENCH_SECONDS:-10}

: >"$TEST_DIR/outside.hosts"
OUTSIDE_DNS_ARGS=(--synth-domain=bulk.senso.cloud,198.18.0.0/16 --synth-domain=other.test,198.19.0.0/16)
snoop_topology

snoop_config "max_snooped = 65536" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"

run() { # NAME PATTERN
        local out
        out=$(in_client "$SNOOP_CLIENT" --bench 192.0.2.53 "$2" "$SECONDS_EACH")
        printf '%-14s %s\n' "$1" "$out" >&2
        echo "$out"
}
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

echo "DNS reply latency through the gateway, ${SECONDS_EACH}s per round, one query at a time:" >&2
base=$(run baseline '198-19-{}.other.test')
daemon_start
nonmatch=$(run non-matching '198-19-{}.other.test')
match=$(run matching '198-18-{}.bulk.senso.cloud')
pids=()
for i in 1 2 3 4; do
        nsenter -t "$CLIENT" -n -- "$SNOOP_CLIENT" --bench 192.0.2.53 "198-19-{}.p$i.other.test" "$SECONDS_EACH" \
                >"$TEST_DIR/par$i" &
        pids+=($!)
done
wait "${pids[@]}"
total=$(cat "$TEST_DIR"/par* | awk '{ for (i = 1; i < NF; i++) if ($i == "per_s") s += $(i + 1) } END { print s }')
printf '%-14s 4 clients, non-matching: %s replies/s in all\n' parallel "$total" >&2
daemon_stop

printf '\n%-14s %10s %10s %14s %14s\n' "" p50_us p99_us added_p50_us added_p99_us
for r in baseline:"$base" non-matching:"$nonmatch" matching:"$match"; do
        name=${r%%:*} out=${r#*:}
        printf '%-14s %10s %10s %14s %14s\n' "$name" "$(field p50_us "$out")" "$(field p99_us "$out")" \
                $(( $(field p50_us "$out") - $(field p50_us "$base") )) $(( $(field p99_us "$out") - $(field p99_us "$base") ))
done
printf 'replies/s with snooping: sequential %s (non-matching), %s (matching); 4 parallel clients %s\n' \
        "$(field per_s "$nonmatch")" "$(field per_s "$match")" "$total"
