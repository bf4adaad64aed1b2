#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Reloads that the kernel or the schedule could get wrong: a new configuration whose transaction the
# kernel refuses is rejected as a whole (the daemon keeps applying the old one); a shortened
# validity= shortens the refresh schedule too; new dns_servers= are asked at once by failing hosts.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set a.vendor.test 192.0.2.1
dns_set c.vendor.test 203.0.113.3
dns_start

base="[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
retry_min = 10m
retry_max = 1h

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 60s"
daemon_config "$base
refresh = 1s"
daemon_start

# ---- the operator's table holds a set named like the new group's, of another type
nft add set inet allowlistd gc_v4 '{ type ipv6_addr; }'
nft add chain inet allowlistd operator
nft add rule inet allowlistd operator ip6 daddr @gc_v4 accept
: >"$NOTIFY_LOG"
daemon_config "$base
refresh = 1s

[gc]
hosts = c.vendor.test
allow = tcp/9555
validity = 60s"
kill -HUP "$DAEMON_PID"
wait_until 5 grep -q 'Rejected the new configuration' "$DAEMON_LOG" || fail "reload with a refused transaction accepted"
grep -q 'the kernel refused its transaction (set inet allowlistd gc_v4' "$DAEMON_LOG" ||
        fail "the rejection does not name the set: $(tail -n 3 "$DAEMON_LOG")"
grep -q 'Reloaded' "$DAEMON_LOG" && fail "a refused reload was also reported as reloaded"
assert_eq $'RELOADING=1\nREADY=1' "$(grep -E '^(RELOADING|READY)=' "$NOTIFY_LOG")" "RELOADING=1 then READY=1 on a rejected reload"
# The old configuration goes on being applied: a DNS change still reaches the kernel.
dns_set a.vendor.test 192.0.2.2
dns_reload
wait_until 4 bash -c '[[ "$(nft list set inet allowlistd ga_v4)" == *192.0.2.2* ]]' ||
        fail "after a rejected reload, DNS changes no longer reach the kernel"
echo "ok: after a rejected reload the previous configuration is still applied"
assert_eq 0 "$(grep -c 'Failed to apply' "$DAEMON_LOG")" "no failed transaction after the rejected reload"
nft delete chain inet allowlistd operator
nft delete set inet allowlistd gc_v4

# ---- a shortened validity shortens the schedule: refresh auto (TTL 300 s) with 60 s validity
# waits 30 s; after the reload to 6 s the next lookup comes within 3 s.
daemon_config "$base"
kill -HUP "$DAEMON_PID"
sleep 1.5 # the 1 s refreshes of the old configuration are over
before=$(dns_query_count a.vendor.test)
daemon_config "${base/validity = 60s/validity = 6s}"
kill -HUP "$DAEMON_PID"
_asked() { (( $(dns_query_count a.vendor.test) > before )); }
wait_until 4 _asked || fail "after validity shrank to 6 s, no lookup within its half (3 s)"
echo "ok: a shortened validity brings the next lookup forward"
# 192.0.2.1 left DNS earlier: under the new 6 s validity it goes within 6 s of the reload, while
# 192.0.2.2, still answered, stays.
_only_current() { [[ "$(set_elements inet allowlistd ga_v4)" == "192.0.2.2" ]]; }
wait_until 8 _only_current || fail "the old address did not leave within the new validity"
sleep 2
assert_eq "192.0.2.2" "$(set_elements inet allowlistd ga_v4)" "the address DNS still returns stays under the new validity"

# ---- failing hosts ask new DNS servers at once (retry_min is 10 minutes)
daemon_config "${base/dns_servers = $DNS_SERVERS/dns_servers = 127.0.0.1:5353}
refresh = 1s"
kill -HUP "$DAEMON_PID"
wait_until 5 grep -q 'a.vendor.test: DNS lookup failed' "$DAEMON_LOG" || fail "no failure against a dead server"
daemon_config "$base
refresh = 1s"
kill -HUP "$DAEMON_PID"
wait_until 3 grep -q 'a.vendor.test: DNS answers again' "$DAEMON_LOG" ||
        fail "a failing host did not ask the new DNS servers at once"
echo "ok: failing hosts ask new DNS servers at once"

daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
