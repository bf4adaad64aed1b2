#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Memory bound of snooping: a client behind the gateway asks for 10,000 distinct names below a
# snooped domain (dnsmasq synthesises 198-18-H-L.bulk.senso.cloud -> 198.18.H.L). Every reply
# reaches the client, the group ends with exactly max_snooped addresses (the latest ones: those
# expiring first made room), that is said once, and the daemon's peak memory stays bounded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

NAMES=10000
MAX_SNOOPED=500
RSS_LIMIT_KB=$((16 * 1024))

: >"$TEST_DIR/outside.hosts"
OUTSIDE_DNS_ARGS=(--synth-domain=bulk.senso.cloud,198.18.0.0/16)
snoop_topology

snoop_config "max_snooped = $MAX_SNOOPED" "[bulk]
domains = bulk.senso.cloud
allow = tcp/443"
daemon_start

out=$(in_client "$SNOOP_CLIENT" --bench 192.0.2.53 '198-18-{}.bulk.senso.cloud' 240 "$NAMES")
echo "$out"
assert_match "^replies $NAMES timeouts 0 " "$out" "all $NAMES replies reached the client"
assert_eq "$MAX_SNOOPED" "$(set_elements inet filter bulk_v4 | wc -l)" "the group holds max_snooped addresses"
# Name N is 198.18.(N/250).(N%250+1): the last MAX_SNOOPED names are the ones kept.
last=$((NAMES - 1))
assert_eq "198.18.$((last / 250)).$((last % 250 + 1))" "$(set_elements inet filter bulk_v4 | tail -n 1)" \
        "the newest learned address is kept"
first=$((NAMES - MAX_SNOOPED))
assert_eq "198.18.$((first / 250)).$((first % 250 + 1))" "$(set_elements inet filter bulk_v4 | head -n 1)" \
        "the oldest kept one is the first of the last max_snooped"
assert_eq 1 "$(grep -c "holds max_snooped=$MAX_SNOOPED addresses" "$DAEMON_LOG")" "the limit is said once"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
echo "daemon peak memory: ${hwm} kB"
# Not `ldd | grep -q`: under pipefail, grep -q leaving early can fail the pipeline (SIGPIPE).
if [[ "$(ldd "$ALLOWLISTD")" == *libasan* ]]; then
        echo "peak memory not checked: AddressSanitizer's shadow memory and quarantine dominate it"
else
        (( hwm < RSS_LIMIT_KB )) || fail "peak memory ${hwm} kB exceeds ${RSS_LIMIT_KB} kB"
        echo "ok: peak memory ${hwm} kB below ${RSS_LIMIT_KB} kB"
fi
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
