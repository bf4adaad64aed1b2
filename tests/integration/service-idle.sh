#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# No busy polling: between refreshes the real daemon sleeps. With refresh = 1h (validity 2h) and
# no watchdog (and a metrics file, written after changes only), strace sees ZERO system calls over 10 idle seconds after READY=1. With
# WATCHDOG_USEC=2s it sees only the watchdog pings: every sendmsg is a WATCHDOG=1 to the notify
# socket, the other calls are the timerfd/epoll wake-up and libsystemd's sd_notify() around it,
# and their number per ping is bounded. The exact calls are printed for the record.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
command -v strace >/dev/null || skip "needs strace"

IDLE_SECONDS=10
# Per ping, as seen with libsystemd 252: epoll_wait, read (timerfd), socket, getsockopt x2,
# setsockopt x2, getuid, geteuid, getgid, getegid, sendmsg, close, timerfd_settime: 15.
MAX_CALLS_PER_PING=16
PING_CALLS='epoll_wait|read|socket|getsockopt|setsockopt|getuid|geteuid|getgid|getegid|sendmsg|close|timerfd_settime'

DNS_TTL=60
dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2
dns_start
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
metrics_file = $TEST_DIR/allowlistd.prom

[ga]
hosts = a.vendor.test b.vendor.test
addresses = 203.0.113.0/24
allow = tcp/443
validity = 2h
refresh = 1h"

# trace_idle: strace the daemon for IDLE_SECONDS; the calls it made, one "NAME LINE" a line.
# A call that was blocked when strace attached and is still blocked when it detaches is
# reported as "<detached ...>": it was made before the window, so it does not count.
trace_idle() {
        local trace="$TEST_DIR/trace"
        rm -f "$trace"
        timeout -s INT "$IDLE_SECONDS" strace -f -qq -o "$trace" -p "$DAEMON_PID" 2>"$TEST_DIR/strace.err" || true
        if [[ ! -e "$trace" ]] || grep -q 'attach' "$TEST_DIR/strace.err"; then
                skip "strace cannot attach: $(cat "$TEST_DIR/strace.err")"
        fi
        kill -0 "$DAEMON_PID" || fail "the daemon died under strace"
        # With more than one thread (the one that sends nftables transactions sleeps in futex()),
        # strace may print a blocked call as "<unfinished ...>" and never finish it: a thread's
        # last line left unfinished was blocked over the whole window too, like "<detached ...>".
        awk '/<detached \.\.\.>$/ || $2 == "+++" || $2 == "---" { next }
             { keep[NR] = $0; last[$1] = NR }
             END { for (p in last) if (keep[last[p]] ~ /<unfinished \.\.\.>$/) delete keep[last[p]]
                   for (i = 1; i <= NR; i++) if (i in keep) print keep[i] }' "$trace" |
                sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z_0-9]+) resumed>/\1(/' | sed -E 's/^([a-z_0-9]+)\(/\1 &/' || true
}

summary() {
        awk 'NF { print $1 }' | sort | uniq -c | awk '{ printf "%s %s\n", $2, $1 }'
}

# ---- no watchdog: zero calls
daemon_start
# Let the first round's apply (50 ms later) and state write finish.
sleep 1
calls="$(trace_idle)"
if [[ -n "$calls" ]]; then
        printf '%s\n' "$calls" >&2
fi
assert_eq "" "$(summary <<<"$calls")" "no watchdog: zero system calls in ${IDLE_SECONDS}s of idle"
assert_eq $'192.0.2.1\n198.51.100.2\n203.0.113.0/24' "$(set_elements inet allowlistd ga_v4)" "the daemon was really running"
grep -q '^allowlistd_lookups_total{result="ok"} 2$' "$TEST_DIR/allowlistd.prom" || fail "no metrics file with the first round"
daemon_stop

# ---- WATCHDOG_USEC=2s: the pings and what goes with them, nothing else
WATCHDOG_USEC=2000000 daemon_start
sleep 1
calls="$(trace_idle)"
echo "--- system calls in ${IDLE_SECONDS}s of idle with WATCHDOG_USEC=2s:"
summary <<<"$calls" | sed 's/^/    /'
pings="$(grep -c '^sendmsg ' <<<"$calls" || true)"
assert_eq "$pings" "$(grep '^sendmsg ' <<<"$calls" | grep -c "sun_path=\"$TEST_DIR/notify.sock\".*iov_base=\"WATCHDOG=1\", iov_len=10" || true)" \
        "watchdog: every sendmsg is WATCHDOG=1 to the notify socket"
# sd-event pings at least every half period: at least IDLE_SECONDS / 1 s - 1 pings (4+ even
# on a loaded machine), and no more than one a quarter period.
(( pings >= 4 && pings <= IDLE_SECONDS * 2 )) || fail "watchdog: $pings pings in ${IDLE_SECONDS}s, expected 4..$(( IDLE_SECONDS * 2 ))"
echo "ok: watchdog: $pings pings in ${IDLE_SECONDS}s"
assert_eq "" "$(awk '{ print $1 }' <<<"$calls" | sort -u | grep -vxE "$PING_CALLS" || true)" \
        "watchdog: no system calls but the ping's ($PING_CALLS)"
total="$(grep -c . <<<"$calls")"
(( total <= pings * MAX_CALLS_PER_PING )) ||
        fail "watchdog: $total system calls for $pings pings, more than $MAX_CALLS_PER_PING per ping"
echo "ok: watchdog: $total system calls for $pings pings ($(( total / pings )) per ping)"
# One timer wake-up per ping: as many epoll_wait returns and timerfd reads as pings (+1 for a
# ping in progress at either end of the window).
for call in epoll_wait read timerfd_settime; do
        n="$(grep -c "^$call " <<<"$calls" || true)"
        (( n >= pings - 1 && n <= pings + 1 )) || fail "watchdog: $n ${call} calls for $pings pings"
done
echo "ok: watchdog: one epoll_wait, timerfd read and re-arm per ping"
kill -0 "$DAEMON_PID" || fail "the daemon died"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
