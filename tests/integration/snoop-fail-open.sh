#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Snooping fails open: when the transaction that would allow a reply's addresses fails (here the
# operator declared the group's set with room for one element), the held reply is released at
# once anyway, its client gets its answer, the release is counted, and nothing is dropped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
198.51.100.10 a1.senso.cloud
198.51.100.11 a2.senso.cloud
HOSTS
snoop_topology
nft add set inet filter senso_v4 '{ type ipv4_addr; flags timeout; size 1; }'

snoop_config "snoop_hold_max = 300ms
metrics_file = $TEST_DIR/metrics.prom" "[senso]
domains = senso.cloud
allow = tcp/443"
daemon_start

assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" \
        "the first name fits into the set: its first SYN passes"
start=$(date +%s%N)
out=$(in_client "$SNOOP_CLIENT" 192.0.2.53 a2.senso.cloud 443)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "198.51.100.11 refused" "$out" "the set is full: the reply still reaches the client, its address is not allowed"
(( ms < 1000 )) || fail "the reply took ${ms} ms: it should be released as soon as its transaction failed"
echo "ok: reply released ${ms} ms after the query despite the failed transaction"
grep -q 'Failed to apply nftables transaction' "$DAEMON_LOG" || fail "the failed transaction was not logged"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
assert_eq 1 "$(awk '$1 == "allowlistd_snoop_replies_released_on_bound_total" { print $2 }' "$TEST_DIR/metrics.prom")" \
        "the unconfirmed release is counted"
