#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The hold bound while the daemon's own transactions are slow: strace delays every nftables
# batch the daemon sends (the sendmsg() on its nftables socket, the only sendmsg() there: see
# nft_batch_transmit()) by DELAY, many times snoop_hold_max, as a kernel waiting for another
# process's commit lock would. A client behind the gateway asks for new names below a snooped
# domain, one after another. Each reply reaches it within snoop_hold_max and some slack, every
# one is counted as released on the bound, and the addresses are in the set once the slow
# transactions are done (those learned while one was in flight go together in the next).
# A daemon whose loop sent the batch itself would hold every reply for DELAY.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's daemon would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

DELAY_S=8
HOLD_MS=300
# Scheduling on a loaded machine, the client's own round trip: still far below DELAY.
BOUND_MS=$((HOLD_MS + 1200))
NAMES=4

: >"$TEST_DIR/outside.hosts"
OUTSIDE_DNS_ARGS=(--synth-domain=bulk.senso.cloud,198.18.0.0/16)
snoop_topology
snoop_config "snoop_hold_max = ${HOLD_MS}ms
metrics_file = $TEST_DIR/metrics.prom" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"
daemon_start

trace_daemon_batches delay_enter=${DELAY_S}s

start=$(date +%s%N)
out=$(in_client "$SNOOP_CLIENT" --bench 192.0.2.53 '198-18-{}.bulk.senso.cloud' 10 "$NAMES" || true)
echo "client: $out"
assert_match "^replies $NAMES timeouts 0 " "$out" "every reply reached the client within 2 s"
max_us=$(awk '{ for (i = 1; i < NF; i++) if ($i == "max_us") print $(i + 1) }' <<<"$out")
(( max_us < BOUND_MS * 1000 )) ||
        fail "a reply waited $((max_us / 1000)) ms: snoop_hold_max = ${HOLD_MS}ms did not hold (transactions took ${DELAY_S}s)"
echo "ok: the longest reply took $((max_us / 1000)) ms with snoop_hold_max = ${HOLD_MS}ms and every transaction ${DELAY_S}s slow"

want=""
for ((n = 0; n < NAMES; n++)); do
        want+="198.18.$((n / 250)).$((n % 250 + 1))"$'\n'
done
want=${want%$'\n'}
wait_until $((4 * DELAY_S)) bash -c "[[ \"\$(nft -j list set inet filter bulk_v4 | jq -r '.nftables[] | select(.set) | .set.elem // [] | .[] | if type == \"object\" then .elem.val else . end' | sort -V)\" == '$want' ]]" ||
        fail "the learned addresses did not reach the set: $(set_elements inet filter bulk_v4 | tr '\n' ' ')"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "ok: all $NAMES addresses in the set after ${took_ms} ms"
(( took_ms >= DELAY_S * 1000 )) || fail "the transaction took ${took_ms} ms: strace did not slow it down"
grep -q '^[0-9]* *sendmsg(.*(DELAYED)$' "$TEST_DIR/strace.log" || fail "strace delayed no sendmsg()"

untrace_daemon
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
assert_eq "$NAMES" "$(awk '$1 == "allowlistd_snoop_replies_released_on_bound_total" { print $2 }' "$TEST_DIR/metrics.prom")" \
        "every reply was released on the bound"
