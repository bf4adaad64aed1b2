#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Failures over time: a name that stops existing is reported once, not at every refresh; with an
# exponential backoff that would jump past the expiry, the retries still land in the last tenth
# of the validity, so the warning that the allow-list will shrink is given before it does; a
# state file that cannot be written is reported once and retried until it can.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

DNS_TTL=1
dns_set a.vendor.test 192.0.2.1
dns_start

daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
refresh_min = 1s
retry_min = 1s
retry_max = 1h

[nx]
hosts = gone.vendor.test
allow = tcp/443

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 20s"
daemon_start

# gone.vendor.test is NXDOMAIN: refreshed every second, reported once.
sleep 3
(( $(dns_query_count gone.vendor.test) >= 3 )) || fail "gone.vendor.test was not refreshed every second"
assert_eq 1 "$(grep -c 'gone.vendor.test: name does not exist (NXDOMAIN); no addresses to keep.' "$DAEMON_LOG")" \
        "NXDOMAIN reported once, not at every refresh"

# DNS goes away 1-2 s after a.vendor.test's last answer. Retries after 1, 2, 4, 8 s (plus
# jitter) would next come after 16 s more, past the 20 s expiry; bounded, one lands in the last
# 2 s before it and warns.
dns_stop
wait_until 25 grep -q 'a.vendor.test: DNS has failed for' "$DAEMON_LOG" ||
        fail "no warning before a.vendor.test's addresses left the allow-list"
grep -q 'a.vendor.test: DNS has failed for .*; its addresses start leaving the allow-list at' "$DAEMON_LOG" ||
        fail "the warning does not say when the allow-list shrinks"
assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "the warning comes while the address is still allowed"
echo "ok: expiry warning before the address left"

daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"

# A state file that cannot be written (its directory is missing) is reported once and retried
# every 5 s until it can.
dns_start
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/later/state
refresh_min = 1s

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 20s"
: >"$DAEMON_LOG"
daemon_start
wait_until 3 grep -q 'Failed to write state file' "$DAEMON_LOG" || fail "failed state write not reported"
sleep 6
assert_eq 1 "$(grep -c 'Failed to write state file' "$DAEMON_LOG")" "a failing state write is reported once"
mkdir "$TEST_DIR/later"
wait_until 7 grep -q 'Wrote state file .* again after earlier failures' "$DAEMON_LOG" || fail "state write not retried"
grep -q '^address ga a.vendor.test 192.0.2.1 ' "$TEST_DIR/later/state" || fail "retried state file lacks the address"
echo "ok: state write retried until it succeeded"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
