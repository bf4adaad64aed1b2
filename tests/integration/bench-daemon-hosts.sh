#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (meson benchmark, not a test): the real daemon with 200, 2,000 and 20,000 dual-stack
# hosts under .test in 20 groups, against dnsmasq on loopback. Measures, over cold starts (no
# state file, no table), the time from start to READY=1 (the first round resolved and applied in
# one transaction) and the peak memory (VmHWM) right after READY=1; prints every run, the
# medians, the time per host and the memory per host side by side. Then, with 2,000 hosts
# refreshing every second, VmHWM and VmRSS after 10,000 more refreshes against those at
# READY=1: memory must stay flat.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"

RUNS=${RUNS:-3}
SIZES=(${SIZES:-200 2000 20000})
GROUPS_N=20
MAX_HOSTS=20000

# 198.18.0.0/15 (benchmarking) and 2001:db8::/32: addresses the daemon's filter lets through.
# One zone for every size: host i of group g is hI.gG.test.
for (( i = 0; i < MAX_HOSTS; i++ )); do
        h=$(( i / GROUPS_N )) g=$(( i % GROUPS_N ))
        printf '198.%d.%d.%d h%d.g%d.test\n2001:db8::%x h%d.g%d.test\n' $(( 18 + i / 65536 )) $(( i / 256 % 256 )) \
                $(( i % 256 )) "$h" "$g" $(( i + 1 )) "$h" "$g"
done | dns_write_zone
DNS_LOG_QUERIES=0   # logging every query would measure dnsmasq's log writes
dns_start

# write_config HOSTS REFRESH
write_config() {
        local per_group=$(( $1 / GROUPS_N ))
        {
                printf '[daemon]\ndns_servers = %s\nstate_file = %s\n' "$DNS_SERVERS" "$TEST_DIR/state"
                for (( g = 0; g < GROUPS_N; g++ )); do
                        printf '\n[g%d]\nallow = tcp/443\nvalidity = 2h\nrefresh = %s\nhosts =\n' "$g" "$2"
                        for (( h = 0; h < per_group; h++ )); do
                                printf '        h%d.g%d.test\n' "$h" "$g"
                        done
                done
        } >"$TEST_DIR/allowlistd.conf"
        DAEMON_CONF="$TEST_DIR/allowlistd.conf"
        "$ALLOWLISTD" -c "$DAEMON_CONF" --check-config >/dev/null || fail "the generated configuration is not valid"
}

median() {
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

status_kb() {
        awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status"
}

count_elements() {
        nft -j list table inet allowlistd |
                jq -r --arg f "$1" '[.nftables[] | select(.set) | select(.set.name | endswith($f)) | .set.elem // [] | .[]] | length'
}

# cold_start HOSTS: one start; sets MS and HWM.
cold_start() {
        nft delete table inet allowlistd 2>/dev/null || true
        rm -f "$TEST_DIR/state"
        t0="$(date +%s%N)"
        daemon_start
        # READY=1 and the STATUS= right after it are the last notify messages until the first
        # refresh an hour later, so the log's mtime is when READY=1 arrived (to within
        # microseconds), independent of daemon_start's 50 ms polling.
        t1="$(stat -c '%.9Y' "$NOTIFY_LOG" | tr -d .)"
        HWM="$(status_kb VmHWM)"
        MS=$(( (t1 - t0) / 1000000 ))
        assert_eq "$1 $1" "$(count_elements _v4) $(count_elements _v6)" "$1 hosts: every address in the kernel at READY=1"
        daemon_stop
}

results=()
for n in "${SIZES[@]}"; do
        write_config "$n" 1h
        times=() hwms=()
        for (( run = 1; run <= RUNS; run++ )); do
                cold_start "$n"
                echo "run $run: $n hosts: start to READY=1 $MS ms, VmHWM $HWM kB"
                times+=("$MS")
                hwms+=("$HWM")
        done
        results+=("$n $(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${hwms[@]}" | median)")
done

echo "allowlistd, dual-stack hosts in $GROUPS_N groups against dnsmasq on loopback (median of $RUNS cold starts):"
printf '%s\n' "${results[@]}" | awk '{
        printf "  %6d hosts: READY=1 after %5d ms (%5.1f us per host), VmHWM %6d kB", $1, $2, $2 * 1000 / $1, $3
        if (NR > 1)
                printf " (%+.0f bytes per host over %d hosts)", ($3 - hwm) * 1024 / ($1 - n), n
        printf "\n"
        if (NR > 1)
                ratio = sprintf("%s  time per host at %d against %d hosts: %.2fx\n", ratio, $1, n, ($2 / $1) / (ms / n))
        n = $1; ms = $2; hwm = $3
} END { printf "%s", ratio }'

# Steady state: 2,000 hosts refreshed every second, 10,000 refreshes (dnsmasq answers them all),
# RUNS times: the peak at READY=1 moves by a few percent between runs with the shared libraries'
# pages the process happens to have mapped by then.
write_config 2000 1s
ratios=()
for (( run = 1; run <= RUNS; run++ )); do
        nft delete table inet allowlistd 2>/dev/null || true
        rm -f "$TEST_DIR/state"
        daemon_start
        hwm0="$(status_kb VmHWM)" rss0="$(status_kb VmRSS)"
        sleep 6
        hwm1="$(status_kb VmHWM)" rss1="$(status_kb VmRSS)"
        daemon_stop
        echo "run $run: 2000 hosts refreshing every second: at READY=1 VmHWM $hwm0 kB, VmRSS $rss0 kB; after 10,000 refreshes VmHWM $hwm1 kB, VmRSS $rss1 kB"
        ratios+=("$(awk -v a="$hwm0" -v b="$hwm1" 'BEGIN { printf "%.3f %d %d", b / a, a, b }')")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $0 } END {
        split(v[int((NR + 1) / 2)], m, " ")
        printf "flatness (median of %d): VmHWM after 10,000 refreshes / at READY=1 = %d / %d kB = %.3f (%+.1f%%; target at most 1.05)\n", NR, m[3], m[2], m[1], (m[1] - 1) * 100
}'
