#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (figures, not pass/fail) of the latency snooping adds to DNS replies and of the rate
# the daemon sustains, through the gateway topology of snoop-lib.sh. A client behind the
# gateway asks for BENCH_SECONDS (10) each round, every query a new name (dnsmasq synthesises
# them):
#   baseline        no snooping chains at all
#   non-matching    snooping on, names outside every domain (accepted at once)
#   matching        snooping on, names below a domain, each a new address (one transaction per
#                   reply: a sequential client never lets two coalesce)
# first one query at a time (latency), then with BENCH_INFLIGHT (16) queries outstanding at all
# times (pipelined: one client is then no longer the limit, dnsmasq is). For the snooping rounds
# the daemon's CPU time (utime + stime of /proc/PID/stat) and the packets the kernel queued
# (nfnetlink_queue's id_sequence) give its sustained rate on one core: replies per CPU-second.
# Prints p50/p99 of each, the added latency against the baseline, and the rates side by side.
# With BENCH_OLD_ALLOWLISTD set to another build's binary, the snooping rounds run for it too,
# first, from an empty state as for this build's: its rows are marked "(old)".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

SECONDS_EACH=${BENCH_SECONDS:-10}
INFLIGHT=${BENCH_INFLIGHT:-16}
TICKS=$(getconf CLK_TCK)

: >"$TEST_DIR/outside.hosts"
OUTSIDE_DNS_ARGS=(--synth-domain=bulk.senso.cloud,198.18.0.0/16 --synth-domain=other.test,198.19.0.0/16)
snoop_topology

snoop_config "max_snooped = 65536" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }
declare -A OUT DAEMON_CPU QUEUED
run() { # NAME MODE PATTERN: MODE bench (one at a time) or flood (INFLIGHT outstanding)
        local c0=0 q0=0 out
        if [[ -n "$DAEMON_PID" ]]; then c0=$(cpu_ticks "$DAEMON_PID"); q0=$(queued_count 0); fi
        if [[ $2 == bench ]]; then
                out=$(in_client "$SNOOP_CLIENT" --bench 192.0.2.53 "$3" "$SECONDS_EACH")
        else
                out=$(in_client "$SNOOP_CLIENT" --flood 192.0.2.53 "$3" "$SECONDS_EACH" "$INFLIGHT")
        fi
        if [[ -n "$DAEMON_PID" ]]; then
                DAEMON_CPU[$1]=$(( $(cpu_ticks "$DAEMON_PID") - c0 ))
                QUEUED[$1]=$(( $(queued_count 0) - q0 ))
        fi
        OUT[$1]=$out
        printf '%-22s %s\n' "$1" "$out" >&2
}

echo "DNS replies through the gateway, ${SECONDS_EACH}s per round:" >&2
run baseline bench '198-19-{}.other.test'
run "baseline/$INFLIGHT" flood '198-19-{}.other.test'
snooping_rounds() { # SUFFIX
        daemon_start
        run "non-matching$1" bench '198-19-{}.other.test'
        run "matching$1" bench '198-18-{}.bulk.senso.cloud'
        run "non-matching/$INFLIGHT$1" flood '198-19-{}.other.test'
        run "matching/$INFLIGHT$1" flood '198-18-{}.bulk.senso.cloud'
        daemon_stop
        # The next binary starts from nothing learned, as this one did.
        rm -f "$TEST_DIR/state"
}
NAMES=(baseline non-matching matching "baseline/$INFLIGHT" "non-matching/$INFLIGHT" "matching/$INFLIGHT")
if [[ -n "${BENCH_OLD_ALLOWLISTD:-}" ]]; then
        NEW_ALLOWLISTD=$ALLOWLISTD
        ALLOWLISTD=$BENCH_OLD_ALLOWLISTD
        snooping_rounds " (old)"
        ALLOWLISTD=$NEW_ALLOWLISTD
        NAMES=(baseline "non-matching (old)" non-matching "matching (old)" matching "baseline/$INFLIGHT"
               "non-matching/$INFLIGHT (old)" "non-matching/$INFLIGHT" "matching/$INFLIGHT (old)" "matching/$INFLIGHT")
fi
snooping_rounds ""

printf '\n%-22s %9s %9s %10s %10s %9s %9s %10s %12s\n' "" p50_us p99_us added_p50 added_p99 replies/s queued \
        daemon_cpu per_cpu_s
for name in "${NAMES[@]}"; do
        out=${OUT[$name]} base=${OUT[baseline]}
        [[ $name == */* ]] && base=${OUT[baseline/$INFLIGHT]}
        cpu=- per=- queued=-
        if [[ -n "${DAEMON_CPU[$name]:-}" ]]; then
                queued=${QUEUED[$name]}
                cpu=$(awk -v t="${DAEMON_CPU[$name]}" -v hz="$TICKS" -v s="$SECONDS_EACH" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')
                per=$(awk -v t="${DAEMON_CPU[$name]}" -v hz="$TICKS" -v q="$queued" \
                        'BEGIN { if (t > 0) printf "%.0f", q / (t / hz); else print "-" }')
        fi
        printf '%-22s %9s %9s %10s %10s %9s %9s %10s %12s\n' "$name" "$(field p50_us "$out")" "$(field p99_us "$out")" \
                $(( $(field p50_us "$out") - $(field p50_us "$base") )) $(( $(field p99_us "$out") - $(field p99_us "$base") )) \
                "$(field per_s "$out")" "$queued" "$cpu" "$per"
done
echo "(/$INFLIGHT: $INFLIGHT queries outstanding; queued: replies the kernel put into the queue; daemon_cpu: the"
echo " daemon's CPU time as a share of one core over the round; per_cpu_s: queued replies per second of"
echo " the daemon's CPU time, the rate it sustains on one core)"
