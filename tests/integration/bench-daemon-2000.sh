#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (meson benchmark, not a test): the real daemon with 2,000 dual-stack hosts under
# .test in 20 groups of 100, against dnsmasq on loopback. Measures, over 5 cold starts (no state
# file, no table), the time from start to READY=1 (the first round resolved and applied in one
# transaction) and the peak memory (VmHWM) after READY=1. Prints every run and the medians.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"

RUNS=5
GROUPS_N=20
HOSTS_PER_GROUP=100

# 198.18.0.0/15 (benchmarking) and 2001:db8::/32: addresses the daemon's filter lets through.
for (( i = 0; i < GROUPS_N * HOSTS_PER_GROUP; i++ )); do
        printf '198.18.%d.%d h%d.g%d.test\n2001:db8::%x h%d.g%d.test\n' $(( i / 256 )) $(( i % 256 )) \
                $(( i % HOSTS_PER_GROUP )) $(( i / HOSTS_PER_GROUP )) $(( i + 1 )) $(( i % HOSTS_PER_GROUP )) $(( i / HOSTS_PER_GROUP ))
done | dns_write_zone
DNS_LOG_QUERIES=0   # logging every query would measure dnsmasq's log writes
dns_start

{
        printf '[daemon]\ndns_servers = %s\nstate_file = %s\n' "$DNS_SERVERS" "$TEST_DIR/state"
        for (( g = 0; g < GROUPS_N; g++ )); do
                printf '\n[g%d]\nallow = tcp/443\nvalidity = 2h\nrefresh = 1h\nhosts =\n' "$g"
                for (( h = 0; h < HOSTS_PER_GROUP; h++ )); do
                        printf '        h%d.g%d.test\n' "$h" "$g"
                done
        done
} >"$TEST_DIR/allowlistd.conf"
DAEMON_CONF="$TEST_DIR/allowlistd.conf"
"$ALLOWLISTD" -c "$DAEMON_CONF" --check-config >/dev/null || fail "the generated configuration is not valid"

median() {
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

times=() hwms=()
for (( run = 1; run <= RUNS; run++ )); do
        nft delete table inet allowlistd 2>/dev/null || true
        rm -f "$TEST_DIR/state"
        t0="$(date +%s%N)"
        daemon_start
        # READY=1 and the STATUS= right after it are the last notify messages until the first
        # refresh an hour later, so the log's mtime is when READY=1 arrived (to within
        # microseconds), independent of daemon_start's 50 ms polling.
        t1="$(stat -c '%.9Y' "$NOTIFY_LOG" | tr -d .)"
        hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")"
        rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")"
        v4=0 v6=0
        for (( g = 0; g < GROUPS_N; g++ )); do
                v4=$(( v4 + $(set_elements inet allowlistd "g${g}_v4" | wc -l) ))
                v6=$(( v6 + $(set_elements inet allowlistd "g${g}_v6" | wc -l) ))
        done
        daemon_stop
        assert_eq "2000 2000" "$v4 $v6" "run $run: every address in the kernel at READY=1"
        ms=$(( (t1 - t0) / 1000000 ))
        echo "run $run: start to READY=1 ${ms} ms, VmHWM ${hwm} kB, VmRSS ${rss} kB"
        times+=("$ms")
        hwms+=("$hwm")
done

echo "allowlistd, 2000 hosts (4000 queries) in 20 groups: start to READY=1 median $(printf '%s\n' "${times[@]}" | median) ms over $RUNS runs"
echo "allowlistd, 2000 hosts in 20 groups: VmHWM after READY=1 median $(printf '%s\n' "${hwms[@]}" | median) kB"
