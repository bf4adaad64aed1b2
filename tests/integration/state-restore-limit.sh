#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A state file of 100,000 records for one host, out of order, with max_addresses = 256: the
# restore keeps what an answer would, the 256 per family that expire last, says once what it
# dropped, and everything it kept can be saved again.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

N=50000 # per family
dns_set other.vendor.test 192.0.2.1
dns_start

daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
max_addresses = 256
retry_min = 1s

[g]
hosts = big.vendor.test
        other.vendor.test
allow = tcp/443
validity = 1d
refresh = 1h"

# Record i expires i seconds after the first, so the kept ones are the last 256 of each
# family; the file is shuffled, as no ledger order would have it. big.vendor.test has no DNS
# record (NXDOMAIN): only the restore puts addresses in its set.
awk -v n="$N" 'BEGIN {
        for (i = 0; i < n; i++) {
                printf "g big.vendor.test 198.18.%d.%d +%d +0\n", int(i / 256), i % 256, 600 + i
                printf "g big.vendor.test 2001:db8::%x +%d +0\n", i + 1, 600 + i
        }
}' | shuf --random-source=<(yes) | "$STATE_WRITE" "$TEST_DIR/state"
assert_eq 100000 "$(grep -c '^address ' "$TEST_DIR/state")" "the state file has 100,000 records"

start="$(date +%s%N)"
daemon_start
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "ok: READY=1 after ${elapsed_ms} ms"

expected_v4="$(awk -v n="$N" 'BEGIN { for (i = n - 256; i < n; i++) printf "198.18.%d.%d\n", int(i / 256), i % 256; print "192.0.2.1" }' | sort -V)"
expected_v6="$(awk -v n="$N" 'BEGIN { for (i = n - 256; i < n; i++) printf "2001:db8::%x\n", i + 1 }' | sort -V)"
assert_eq "$expected_v4" "$(set_elements inet allowlistd g_v4)" "IPv4: the 256 restored addresses that expire last, and the answer of the other host"
assert_eq "$expected_v6" "$(set_elements inet allowlistd g_v6)" "IPv6: the 256 restored addresses that expire last"

assert_eq 1 "$(grep -c 'beyond max_addresses' "$DAEMON_LOG")" "what was dropped is said once"
grep -q "dropped 99488 addresses beyond max_addresses=256 per family of 1 host, keeping the latest to expire (the most from big.vendor.test: 99488)" "$DAEMON_LOG" ||
        fail "the drop is not reported with its counts: $(grep -i state "$DAEMON_LOG")"
grep -q "Restored 512 addresses from $TEST_DIR/state" "$DAEMON_LOG" || fail "the restore is not reported"

# The save after the first round and the one at exit both succeed, with what was restored.
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "clean exit"
if grep -q 'Failed to write state file' "$DAEMON_LOG"; then
        fail "a save failed: $(grep 'Failed to write state file' "$DAEMON_LOG")"
fi
assert_eq 513 "$(grep -c '^address ' "$TEST_DIR/state")" "the next save has the 512 restored addresses and the answer"
assert_eq 256 "$(grep -c '^address g big.vendor.test 198\.18\.' "$TEST_DIR/state")" "... 256 IPv4 of the big host"
