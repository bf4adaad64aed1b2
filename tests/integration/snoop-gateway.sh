#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# DNS snooping at a gateway, with real packets: a client namespace, this namespace as the gateway
# running allowlistd (forward policy drop, ct established, jump to its chain, reject), and an
# outside namespace with a dnsmasq resolver and TCP listeners on 443 and 8443 at the answered
# addresses. The client connects the moment the answer arrives: its first SYN must pass for a
# name below a domain=, and be rejected for anything else. Hostile answers are not learned but
# still delivered; DNS keeps working when the daemon stops (SIGTERM and SIGKILL); a restart
# restores what was learned from the state file; a gateway-local dnsmasq answering from its
# cache extends the lifetime too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

# The outside resolver's zone.
cat >"$TEST_DIR/outside.hosts" <<'EOF'
198.51.100.10 a1.senso.cloud
198.51.100.11 cdn.example.net
198.51.100.12 evilsenso.cloud
198.51.100.12 senso.cloud.evil.test
10.0.0.1 hostile.senso.cloud
127.0.0.1 hostile.senso.cloud
0.0.0.0 hostile.senso.cloud
::1 hostile6.senso.cloud
64:ff9b::a00:1 hostile6.senso.cloud
EOF
# More addresses than fit in 512 bytes: dnsmasq answers a query without EDNS with TC set.
for i in $(seq 100 139); do
        echo "198.51.100.$i tc.senso.cloud" >>"$TEST_DIR/outside.hosts"
done
OUTSIDE_DNS_ARGS=(--cname=x.senso.cloud,cdn.example.net)
snoop_topology

snoop_config "snoop_queue = 3
metrics_file = $TEST_DIR/metrics.prom" "[senso]
domains = *.senso.cloud service.signalr.net
allow = tcp/443"

# --- the test ---------------------------------------------------------------------------------

out=$("$ALLOWLISTD" -c "$DAEMON_CONF" --check-config)
assert_match $'Enforced by DNS snooping \\(queue 3\\):\n  senso: \\*\\.senso\\.cloud\n  senso: \\*\\.service\\.signalr\\.net' \
        "$out" "--check-config says the domains are enforced by snooping"
[[ "$out" != *"not enforced"* ]] || fail "--check-config still says 'not enforced': $out"

daemon_start
grep -q 'Snooping DNS replies on NFQUEUE 3 (' "$DAEMON_LOG" || fail "no start message: $(cat "$DAEMON_LOG")"
assert_eq "snoop_forward snoop_output" "$(nft -j list table inet filter |
        jq -r '[.nftables[] | select(.chain) | .chain.name | select(startswith("snoop"))] | join(" ")')" \
        "the queue chains are in the daemon's table"

assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" \
        "a1.senso.cloud: the first SYN right after the answer passes"
assert_eq "198.51.100.11 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 x.senso.cloud 443)" \
        "x.senso.cloud (CNAME to cdn.example.net): the first SYN passes"
assert_eq "198.51.100.10 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 8443)" \
        "a port the group does not allow is rejected"
assert_eq "198.51.100.12 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 evilsenso.cloud 443)" \
        "evilsenso.cloud (no label boundary) is rejected"
assert_eq "198.51.100.12 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 senso.cloud.evil.test 443)" \
        "senso.cloud.evil.test is rejected"
out=$(in_client "$SNOOP_CLIENT" 192.0.2.53 hostile.senso.cloud 443)
[[ "$out" != dns-timeout ]] || fail "the hostile A reply did not reach the client"
out=$(in_client "$SNOOP_CLIENT" 192.0.2.53 hostile6.senso.cloud 443 aaaa)
[[ "$out" != dns-timeout ]] || fail "the hostile AAAA reply did not reach the client"
echo "ok: hostile replies still reach the client"
assert_eq $'198.51.100.10\n198.51.100.11' "$(set_elements inet filter senso_v4)" \
        "only the two learned addresses are in the set (nothing hostile)"
assert_eq "" "$(set_elements inet filter senso_v6)" "no hostile IPv6 address (::1, NAT64 of 10.0.0.1)"
grep -q 'a1.senso.cloud: +198.51.100.10 ' "$DAEMON_LOG" || fail "the addition was not logged under its name"
grep -q 'hostile.senso.cloud: ignoring 10.0.0.1 from a snooped DNS reply: private' "$DAEMON_LOG" ||
        fail "the refused address was not logged: $(cat "$DAEMON_LOG")"
# Truncated: the daemon asks itself (c-ares retries over TCP) before the reply goes on.
assert_eq "198.51.100.100 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 tc.senso.cloud 443 a 198.51.100.100)" \
        "tc.senso.cloud (TC set): its addresses are allowed before the truncated reply is released"
assert_eq 40 "$(set_elements inet filter senso_v4 | grep -c '^198\.51\.100\.1[0-3][0-9]$')" \
        "all 40 addresses of the full answer are in the set"

timeout=$(set_timeouts inet filter senso_v4 | awk '$1 == "198.51.100.10" { print $2 }')
[[ "$timeout" =~ ^[0-9]+$ ]] && (( timeout > 3500 && timeout <= 3600 )) ||
        fail "a learned address must carry the group's validity as kernel timeout, got '$timeout'"
echo "ok: learned addresses carry kernel timeouts"

# A gateway-local resolver answering from its cache (output hook) extends the lifetime.
/usr/sbin/dnsmasq --keep-in-foreground --user=root --group=root --no-resolv --no-hosts --no-poll \
        --bind-interfaces --listen-address=10.1.0.1 --port=53 --server=192.0.2.53 --cache-size=100 \
        --pid-file="$TEST_DIR/local.pid" --log-facility="$TEST_DIR/local.log" --log-queries >/dev/null 2>"$TEST_DIR/local.stderr" &
LOCAL_DNS=$!
at_exit "kill $LOCAL_DNS 2>/dev/null; wait $LOCAL_DNS 2>/dev/null"
wait_until 10 bash -c '[[ -n "$(ss -Hlun "src 10.1.0.1 and sport = :53")" ]]' || fail "local dnsmasq did not start"
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 10.1.0.1 a1.senso.cloud 443)" \
        "through the gateway's own resolver"
sleep 3
before=$(set_timeouts inet filter senso_v4 | awk '$1 == "198.51.100.10" { print $3 }')
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 10.1.0.1 a1.senso.cloud 443)" \
        "again, answered from the local cache"
grep -q 'cached a1.senso.cloud is 198.51.100.10' "$TEST_DIR/local.log" || fail "the second answer did not come from the cache"
after=$(set_timeouts inet filter senso_v4 | awk '$1 == "198.51.100.10" { print $3 }')
(( after >= before + 2 )) || fail "the cached answer did not extend the lifetime ($before -> $after)"
echo "ok: a cached answer of a local resolver extends the lifetime ($before s -> $after s)"
kill "$LOCAL_DNS"; wait "$LOCAL_DNS" 2>/dev/null || true

# SIGTERM: DNS still answers promptly (bypass), the learned addresses stay with their timeouts.
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "clean exit"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TEST_DIR/metrics.prom"; }
assert_eq 42 "$(metric allowlistd_snoop_addresses_learned_total)" "metrics: 42 addresses learned (2 + 40 of the TC name)"
(( $(metric allowlistd_snoop_replies_matched_total) >= 8 )) || fail "metrics: too few matched replies counted"
(( $(metric allowlistd_snoop_hold_seconds_count) >= 4 )) || fail "metrics: held replies not counted"
assert_eq 0 "$(metric allowlistd_snoop_replies_released_on_bound_total)" "metrics: nothing released on the bound"
start=$(date +%s%N)
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" \
        "after SIGTERM: DNS resolves and the learned address still passes"
(( ($(date +%s%N) - start) / 1000000 < 1000 )) || fail "DNS was slow after SIGTERM"
status=$("$ALLOWLISTD" -c "$DAEMON_CONF" --status)
assert_match 'a1\.senso\.cloud' "$status" "--status shows the name that brought the address"
assert_match 'Domains enforced by DNS snooping' "$status" "--status says the domains are enforced"
assert_match $'host a1\\.senso\\.cloud: learned from snooped DNS replies\n    198\\.51\\.100\\.10 ' \
        "$("$ALLOWLISTD" -c "$DAEMON_CONF" --status a1.senso.cloud)" "--status NAME shows a learned name"
assert_match 'host a1\.senso\.cloud \(learned from snooped DNS replies\)' \
        "$("$ALLOWLISTD" -c "$DAEMON_CONF" --status 198.51.100.10)" "--status ADDRESS says it was learned"

# Restart: the state file brings the addresses back before any new answer.
learned=$(set_elements inet filter senso_v4)
nft flush set inet filter senso_v4
daemon_start
assert_eq "$learned" "$(set_elements inet filter senso_v4)" \
        "after a restart the learned addresses are back from the state file"

# SIGKILL: the queue goes with the process; bypass lets DNS through.
daemon_stop KILL
out=$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)
assert_eq "198.51.100.10 connected" "$out" "after SIGKILL: DNS resolves and the learned address still passes"
