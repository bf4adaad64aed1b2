#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (meson benchmark, not a test): the real daemon starting on a valid state file of
# 1,000,000 address records over 2,000 dual-stack hosts in 20 groups (250 addresses per host and
# family, out of ledger order, as large as a state file may be), with dnsmasq on loopback.
# Measures, over 3 starts each, the time from start to the restore's log line (the file read and
# the ledgers built) and to READY=1 (then also the first round of 4,000 queries and the
# transactions of every element), and the peak memory (VmHWM) at both; the same daemon without
# a state file is shown beside it. Prints every run and the medians.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"

RUNS=${RUNS:-3}
GROUPS_N=20
HOSTS_PER_GROUP=100
PER_FAMILY=250
STATE="$TEST_DIR/state"
DAEMON_READY_TIMEOUT=300 # a million elements in one transaction take a while on a loaded machine

# Short names (groups a to t, hosts hN.t) keep 10^6 records under the 64 MiB cap. DNS answers each
# host with the first of its restored addresses.
for (( h = 0; h < GROUPS_N * HOSTS_PER_GROUP; h++ )); do
        k=$(( (h % HOSTS_PER_GROUP) * PER_FAMILY ))
        printf '198.%d.%d.%d h%d.t\n2001:db8::%x h%d.t\n' $(( 18 + k / 65536 )) $(( k / 256 % 256 )) $(( k % 256 )) "$h" \
                $(( k + 1 )) "$h"
done | dns_write_zone
DNS_LOG_QUERIES=0
DNS_EXTRA_ARGS=(--local=/t/)
dns_start

group_name() {
        printf "\\$(printf '%03o' $(( 97 + $1 )))"
}

{
        printf '[daemon]\ndns_servers = %s\nstate_file = %s\n' "$DNS_SERVERS" "$STATE"
        for (( g = 0; g < GROUPS_N; g++ )); do
                printf '\n[%s]\nallow = tcp/443\nvalidity = 2h\nrefresh = 1h\nhosts =\n' "$(group_name "$g")"
                for (( h = 0; h < HOSTS_PER_GROUP; h++ )); do
                        printf '        h%d.t\n' $(( g * HOSTS_PER_GROUP + h ))
                done
        done
} >"$TEST_DIR/allowlistd.conf"
DAEMON_CONF="$TEST_DIR/allowlistd.conf"
"$ALLOWLISTD" -c "$DAEMON_CONF" --check-config >/dev/null || fail "the generated configuration is not valid"

awk -v groups="$GROUPS_N" -v hosts="$HOSTS_PER_GROUP" -v per="$PER_FAMILY" 'BEGIN {
        srand(1)
        for (g = 0; g < groups; g++)
                for (i = 0; i < hosts; i++)
                        for (j = 0; j < per; j++) {
                                k = i * per + j
                                h = g * hosts + i
                                printf "%c h%d.t 198.%d.%d.%d +%d +0\n", 97 + g, h, 18 + int(k / 65536), int(k / 256) % 256, k % 256, 600 + int(rand() * 6000)
                                printf "%c h%d.t 2001:db8::%x +%d +0\n", 97 + g, h, k + 1, 600 + int(rand() * 6000)
                        }
}' | shuf --random-source=<(yes) | "$STATE_WRITE" "$STATE.orig"
records="$(grep -c '^address ' "$STATE.orig")"
size="$(stat -c %s "$STATE.orig")"
echo "state file: $records address records, $size bytes"

median() {
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

_ready() {
        grep -qx 'READY=1' "$NOTIFY_LOG" 2>/dev/null && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "allowlistd exited before READY=1: $(tail -n 20 "$DAEMON_LOG")"
        return 1
}

# run WITH_STATE: one cold start; sets MS, KB and ELEMENTS.
run() {
        local t0 t1 g
        nft delete table inet allowlistd 2>/dev/null || true
        rm -f "$STATE"
        [[ "$1" == yes ]] && cp "$STATE.orig" "$STATE"
        : >"$TEST_DIR/daemon.log"
        t0="$(date +%s%N)"
        # The restore alone: until the daemon says what it restored (polled every 20 ms).
        (
                until grep -q '^info: Restored' "$TEST_DIR/daemon.log" 2>/dev/null; do sleep 0.02; done
                pid="$(pgrep -n -f -- "-c $DAEMON_CONF")"
                # CPU time too (utime + stime, in clock ticks): the machine may be shared.
                echo "$(( ($(date +%s%N) - t0) / 1000000 )) $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")" \
                        "$(awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$pid/stat")" >"$TEST_DIR/restored"
        ) &
        poller=$!
        daemon_start
        # The last notify messages until the first refresh: the log's mtime is when READY=1 came.
        t1="$(stat -c '%.9Y' "$NOTIFY_LOG" | tr -d .)"
        # The daemon's CPU time by then (utime + stime): how much of the wait was its own work.
        CPU="$(awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$DAEMON_PID/stat")"
        KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")"
        ELEMENTS=0
        for (( g = 0; g < GROUPS_N; g++ )); do
                for f in v4 v6; do
                        ELEMENTS=$(( ELEMENTS + $(nft -j list set inet allowlistd "$(group_name "$g")_$f" |
                                jq '[.nftables[] | select(.set) | .set.elem // [] | length] | add') ))
                done
        done
        daemon_stop
        MS=$(( (t1 - t0) / 1000000 ))
        RESTORED_MS=- RESTORED_KB=- RESTORED_CPU=-
        if [[ "$1" == yes ]]; then
                wait "$poller"
                read -r RESTORED_MS RESTORED_KB RESTORED_CPU <"$TEST_DIR/restored"
        else
                kill "$poller" 2>/dev/null
                wait "$poller" 2>/dev/null || true
        fi
}

with_ms=() with_kb=() without_ms=() without_kb=() restored_ms=() restored_kb=() restored_cpu=()
for (( r = 1; r <= RUNS; r++ )); do
        run yes
        assert_eq "$records" "$ELEMENTS" "run $r: every restored address in the kernel at READY=1"
        echo "run $r, state file of $records records: restored after $RESTORED_MS ms ($RESTORED_CPU ms CPU, VmHWM $RESTORED_KB kB), READY=1 after $MS ms ($CPU ms CPU by then), VmHWM $KB kB"
        with_ms+=("$MS") with_kb+=("$KB") restored_ms+=("$RESTORED_MS") restored_kb+=("$RESTORED_KB")
        restored_cpu+=("$RESTORED_CPU")
        if grep -q 'Failed to write state file\|dropped' "$TEST_DIR/daemon.log"; then
                fail "run $r: $(grep 'Failed to write state file\|dropped' "$TEST_DIR/daemon.log")"
        fi
        run no
        echo "run $r, no state file: READY=1 after $MS ms, VmHWM $KB kB ($ELEMENTS elements)"
        without_ms+=("$MS") without_kb+=("$KB")
done

echo "restore-1m: $records records over $(( GROUPS_N * HOSTS_PER_GROUP )) hosts: restore alone (file read, ledgers built) median $(printf '%s\n' "${restored_ms[@]}" | median) ms ($(printf '%s\n' "${restored_cpu[@]}" | median) ms CPU), VmHWM by then median $(printf '%s\n' "${restored_kb[@]}" | median) kB"
echo "restore-1m: $records records over $(( GROUPS_N * HOSTS_PER_GROUP )) hosts ($size bytes): start to READY=1 median $(printf '%s\n' "${with_ms[@]}" | median) ms, VmHWM median $(printf '%s\n' "${with_kb[@]}" | median) kB"
echo "restore-1m: the same daemon without a state file: start to READY=1 median $(printf '%s\n' "${without_ms[@]}" | median) ms, VmHWM median $(printf '%s\n' "${without_kb[@]}" | median) kB"
