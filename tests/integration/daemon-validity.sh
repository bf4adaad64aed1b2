#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon's heart against the real kernel and a real dnsmasq, with validity periods of seconds:
# the sets fill, a new address arrives within one refresh, a vanished one stays until its validity
# ends and then leaves the kernel set, DNS going away changes nothing until it is back, CNAMEs are
# followed, 500 A records come back whole (TCP), rebinding answers are refused.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

DNS_TTL=1
dns_set cs.vendor.test 192.0.2.1 192.0.2.2 2001:db8::1
dns_set stable.vendor.test 198.51.100.1
dns_set target.vendor.test 198.51.100.77
dns_cname alias.vendor.test target.vendor.test 1
dns_set rebind.vendor.test 203.0.113.9 10.1.2.3 127.0.0.2 192.168.1.1 169.254.0.1 2001:db8::9 ::1 fe80::1 fd00::1
big=()
for i in $(seq 1 250); do big+=("198.51.100.$i" "203.0.113.$i"); done
dns_set big.vendor.test "${big[@]}"
dns_start

daemon_config "
[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
refresh_min = 1s
retry_min = 1s
retry_max = 2s
max_addresses = 1000

[cs]
hosts = cs.vendor.test
allow = tcp/80 tcp/1970
validity = 6s
refresh = 1s

[stable]
hosts = stable.vendor.test
allow = tcp/443
validity = 30s
refresh = 1s

[alias]
hosts = alias.vendor.test
allow = tcp/443
validity = 30s

[rebind]
hosts = rebind.vendor.test
allow = tcp/443
validity = 30s

[big]
hosts = big.vendor.test
family = ipv4
allow = tcp/443
validity = 30s
"
daemon_start

# The first round is in the kernel before READY=1.
assert_eq $'192.0.2.1\n192.0.2.2' "$(set_elements inet allowlistd cs_v4)" "cs_v4 after the first round"
assert_eq "2001:db8::1" "$(set_elements inet allowlistd cs_v6)" "cs_v6 after the first round"
assert_eq "198.51.100.77" "$(set_elements inet allowlistd alias_v4)" "CNAME followed"
assert_eq "203.0.113.9" "$(set_elements inet allowlistd rebind_v4)" "rebinding IPv4 answers refused"
assert_eq "2001:db8::9" "$(set_elements inet allowlistd rebind_v6)" "rebinding IPv6 answers refused"
for a in 10.1.2.3 127.0.0.2 192.168.1.1 169.254.0.1 ::1 fe80::1 fd00::1; do
        assert_eq 1 "$(grep -c "rebind.vendor.test: ignoring $a from DNS" "$DAEMON_LOG")" "refusal of $a logged once"
done
assert_eq "$(printf '%s\n' "${big[@]}" | sort -V)" "$(set_elements inet allowlistd big_v4)" "all 500 A records (TCP fallback)"
assert_eq "" "$(nft list table inet allowlistd | grep -o 'big_v6' || true)" "family = ipv4 makes no IPv6 set"

# Every DNS address carries its own kernel timeout: the group's validity.
assert_eq $'192.0.2.1 6\n192.0.2.2 6' "$(set_timeouts inet allowlistd cs_v4 | cut -d' ' -f1,2)" "element timeouts = validity"

# A new address arrives within one refresh; the vanished one stays until its validity ends.
dns_set cs.vendor.test 192.0.2.2 192.0.2.3 2001:db8::1
dns_reload
t0=$(date +%s%N)
wait_until 4 bash -c "nft list set inet allowlistd cs_v4 | grep -q 192.0.2.3" || fail "192.0.2.3 did not arrive within a refresh"
assert_eq $'192.0.2.1\n192.0.2.2\n192.0.2.3' "$(set_elements inet allowlistd cs_v4)" "new address added, old one kept"
_cs_shrunk() { [[ "$(set_elements inet allowlistd cs_v4)" == $'192.0.2.2\n192.0.2.3' ]]; }
wait_until 12 _cs_shrunk || fail "192.0.2.1 did not leave after its validity"
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# It was last seen at most one refresh (1 s) before the zone changed: it may not go before 5 s.
(( elapsed_ms >= 4500 )) || fail "192.0.2.1 left after ${elapsed_ms} ms, before its 6 s validity"
echo "ok: 192.0.2.1 left ${elapsed_ms} ms after DNS stopped returning it (validity 6 s)"
grep -q 'cs.vendor.test: -192.0.2.1 ' "$DAEMON_LOG" || fail "expiry of 192.0.2.1 not logged"
grep -q 'cs.vendor.test: +192.0.2.3 (now 4 addresses' "$DAEMON_LOG" || fail "addition of 192.0.2.3 not logged"

# DNS goes away: nothing changes (stable's validity is 30 s); it recovers when DNS is back.
dns_stop
wait_until 5 grep -q 'stable.vendor.test: DNS lookup failed' "$DAEMON_LOG" || fail "failure not logged"
sleep 3
assert_eq "198.51.100.1" "$(set_elements inet allowlistd stable_v4)" "addresses kept while DNS is down"
grep -q '^STATUS=.*failing (' "$NOTIFY_LOG" || fail "STATUS= does not report the failing hosts"
dns_start
wait_until 6 grep -q 'stable.vendor.test: DNS answers again' "$DAEMON_LOG" || fail "recovery not logged"
assert_eq "198.51.100.1" "$(set_elements inet allowlistd stable_v4)" "addresses still there after recovery"

daemon_stop
assert_eq 0 "$DAEMON_RC" "SIGTERM exits 0"
