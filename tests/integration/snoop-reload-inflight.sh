#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A reload the kernel refuses, sent while the daemon's transactions are slow: strace delays
# every nftables batch of the daemon by DELAY (as a busy commit lock would), and snoop_hold_max
# is far longer. Client A's answer starts transaction T1; the reload gives T1 up (waiting for
# its send), its own transaction is refused (a set of the operator's, of another type, has the
# new group's name), and client B asks meanwhile. Both replies must reach their clients only
# once their addresses are in the set (each first connection passes), the set must hold both,
# and the daemon goes on learning afterwards.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's daemon would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

DELAY_MS=1000

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
198.51.100.10 a.bulk.senso.cloud
198.51.100.11 b.bulk.senso.cloud
198.51.100.12 c.bulk.senso.cloud
HOSTS
snoop_topology
snoop_config "snoop_hold_max = 10s
metrics_file = $TEST_DIR/metrics.prom" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"
good_config=$(cat "$DAEMON_CONF")
daemon_start

trace_daemon_batches delay_enter=${DELAY_MS}ms

start=$(date +%s%N)
in_client "$SNOOP_CLIENT" 192.0.2.53 a.bulk.senso.cloud 443 >"$TEST_DIR/a.out" 2>&1 &
a=$!
sleep 0.4
in_client "$SNOOP_CLIENT" 192.0.2.53 b.bulk.senso.cloud 443 >"$TEST_DIR/b.out" 2>&1 &
b=$!
sleep 0.2
n=$(grep -c 'Rejected' "$DAEMON_LOG" || true)
nft add set inet filter gx_v4 '{ type ipv6_addr; }'
nft add chain inet filter operator
nft add rule inet filter operator ip6 daddr @gx_v4 accept
printf '%s\n\n[gx]\ndomains = x.example\nallow = tcp/9555\n' "$good_config" >"$DAEMON_CONF"
kill -HUP "$DAEMON_PID"
wait_until 20 bash -c "(( \$(grep -c 'Rejected' '$DAEMON_LOG') > $n ))" || fail "no verdict on the refused configuration"
grep -q 'the kernel refused its transaction (set inet filter gx_v4' "$DAEMON_LOG" ||
        fail "the rejection does not name the set: $(tail -n 3 "$DAEMON_LOG")"
echo "ok: the refused configuration was rejected while a transaction was in flight"
wait "$a" || true
wait "$b" || true
took=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "198.51.100.10 connected" "$(cat "$TEST_DIR/a.out")" "client A's first connection passes"
assert_eq "198.51.100.11 connected" "$(cat "$TEST_DIR/b.out")" "client B's first connection passes (both answered within ${took} ms)"
assert_eq $'198.51.100.10\n198.51.100.11' "$(set_elements inet filter bulk_v4)" "the set holds both learned addresses"

untrace_daemon
assert_eq "198.51.100.12 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 c.bulk.senso.cloud 443)" \
        "learning goes on after the rejected reload"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
