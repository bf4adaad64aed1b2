#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Reloads that change the snooping keys, at a gateway with real packets; after each, the
# snooping chains exactly (nft -j list table, each chain's rules), which queue is bound, and
# what the sets hold:
#   - snoop_queue 3 -> 4: the rules move to queue 4, the daemon listens there (a new matching
#     answer is learned before it reaches the client), queue 3 is unbound;
#   - snoop_servers = 192.0.2.53 added: the rules match that source; a learned address stays;
#   - snoop_hold_max changed: the rules and the queue's listener stay (its packet count goes
#     on: never unbound meanwhile), learning goes on;
#   - snoop = no: both chains are gone, the queue unbound, domains= "not enforced" again
#     (--check-config), a matching answer teaches nothing; hosts= still resolve;
#   - snoop = yes again: the chains are back and learning resumes;
#   - snoop_queue = a queue another program listens on: the reload is rejected, the chains and
#     the listener stay on the old queue and learning goes on; a start on it fails, saying so.
# The group stays throughout; what it learned stays while snooping stays on.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
198.51.100.10 a1.senso.cloud
198.51.100.11 b1.senso.cloud
198.51.100.12 c1.senso.cloud
198.51.100.12 d1.senso.cloud
198.51.100.100 www.vendor.test
HOSTS
snoop_topology

group="[senso]
hosts = www.vendor.test
domains = senso.cloud
allow = tcp/443"
config_with() { # DAEMON_LINES: the snooping keys (snoop_config's, with snoop = yes left out)
        daemon_config "[daemon]
table = inet filter
chain = allowlistd
state_file = $TEST_DIR/state
dns_servers = 192.0.2.53:53
$1

$group"
}
reload_with() { # DAEMON_LINES: rewrite the configuration, SIGHUP, wait for the verdict
        local n
        config_with "$1"
        n=$(grep -c 'Reloaded\|Rejected' "$DAEMON_LOG" || true)
        kill -HUP "$DAEMON_PID"
        wait_until 10 bash -c "(( \$(grep -c 'Reloaded\|Rejected' '$DAEMON_LOG') > $n ))" || fail "no reload verdict"
        [[ "$(grep 'Reloaded\|Rejected' "$DAEMON_LOG" | tail -n 1)" == *Reloaded* ]] ||
                fail "reload rejected: $(tail -n 5 "$DAEMON_LOG")"
}
chain_lines() { # QUEUE [SADDR]: what snoop_chains should print
        local rule="udp sport 53 ct direction reply queue num $1 bypass"
        [[ -z "${2:-}" ]] || rule="ip saddr $2 $rule"
        printf 'snoop_forward:\n  type filter hook forward priority filter + 10; policy accept;\n  %s\n' "$rule"
        printf 'snoop_output:\n  type filter hook output priority filter + 10; policy accept;\n  %s' "$rule"
}

config_with "snoop = yes
snoop_queue = 3"
daemon_start
assert_eq "$(chain_lines 3)" "$(snoop_chains)" "start: both chains, queue 3"
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" "a1 learned on queue 3"

# snoop_queue 3 -> 4.
reload_with "snoop = yes
snoop_queue = 4"
assert_eq "$(chain_lines 4)" "$(snoop_chains)" "reload to queue 4: the rules moved"
assert_eq "unbound" "$(queued_count 3)" "queue 3 is no longer bound"
[[ "$(queued_count 4)" =~ ^[0-9]+$ ]] || fail "queue 4 is not bound"
echo "ok: the daemon listens on queue 4"
assert_eq "198.51.100.11 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 b1.senso.cloud 443)" "b1 learned on queue 4"
assert_eq $'198.51.100.10\n198.51.100.11\n198.51.100.100' "$(set_elements inet filter senso_v4)" \
        "the address learned before the reload stays"
(( $(queued_count 4) >= 1 )) || fail "queue 4 saw no packet"

# snoop_servers added.
reload_with "snoop = yes
snoop_queue = 4
snoop_servers = 192.0.2.53"
assert_eq "$(chain_lines 4 192.0.2.53)" "$(snoop_chains)" "reload with snoop_servers: the rules match the server"
assert_eq $'198.51.100.10\n198.51.100.11\n198.51.100.100' "$(set_elements inet filter senso_v4)" \
        "learned addresses stay across a snoop_servers change"

# snoop_hold_max changed: the same queue and listener (a rebind would start the queue's count
# again, and leave a moment in which replies pass unread), the rules unchanged.
queued_before=$(queued_count 4)
[[ "$queued_before" =~ ^[1-9][0-9]*$ ]] || fail "queue 4 has seen no reply before the snoop_hold_max reload: $queued_before"
reload_with "snoop = yes
snoop_queue = 4
snoop_servers = 192.0.2.53
snoop_hold_max = 500ms"
assert_eq "$(chain_lines 4 192.0.2.53)" "$(snoop_chains)" "reload with another snoop_hold_max: the rules unchanged"
assert_eq "$queued_before" "$(queued_count 4)" "reload with another snoop_hold_max: the queue stayed bound to the same listener"
assert_eq "198.51.100.12 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 d1.senso.cloud 443)" "learning goes on"
assert_eq $'198.51.100.10\n198.51.100.11\n198.51.100.12\n198.51.100.100' "$(set_elements inet filter senso_v4)" \
        "learned addresses stay across a snoop_hold_max change"

# snoop = no.
reload_with "snoop = no
snoop_queue = 4"
assert_eq "" "$(snoop_chains)" "snoop = no: no snooping chain left"
assert_eq "unbound" "$(queued_count 4)" "snoop = no: the queue is unbound"
assert_eq "info: Stopped snooping DNS replies (snoop=no): domains= are not enforced." \
        "$(grep 'Stopped snooping' "$DAEMON_LOG")" "snoop = no: the journal says the domains are not enforced"
assert_match 'not enforced' "$("$ALLOWLISTD" -c "$DAEMON_CONF" --check-config)" "--check-config: domains not enforced again"
assert_eq "198.51.100.12 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 c1.senso.cloud 443)" \
        "snoop = no: a matching answer teaches nothing"
assert_eq "198.51.100.100" "$(set_elements inet filter senso_v4)" "snoop = no: only hosts= remain in the set"

# snoop = yes again.
reload_with "snoop = yes
snoop_queue = 4"
assert_eq "$(chain_lines 4)" "$(snoop_chains)" "snoop = yes again: the chains are back"
assert_eq "198.51.100.12 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 c1.senso.cloud 443)" "learning resumes"
assert_eq $'198.51.100.12\n198.51.100.100' "$(set_elements inet filter senso_v4)" "the set: c1 and the host"
assert_eq 0 "$(grep -c 'Failed\|failed' "$DAEMON_LOG")" "no failure in the journal"

# A queue another program listens on: the reload is rejected, snooping goes on as before.
cat >"$TEST_DIR/other.conf" <<CONF
[daemon]
table = inet other
state_file = $TEST_DIR/other.state
dns_servers = 192.0.2.53:53
snoop = yes
snoop_queue = 9

[o]
domains = other.test
allow = tcp/443
CONF
"$ALLOWLISTD" -c "$TEST_DIR/other.conf" 2>"$TEST_DIR/other.log" &
OTHER=$!
at_exit "kill $OTHER 2>/dev/null; wait $OTHER 2>/dev/null"
wait_until 10 grep -q 'Snooping DNS replies on NFQUEUE 9 ' "$TEST_DIR/other.log" || fail "the other program did not start"
config_with "snoop = yes
snoop_queue = 9"
kill -HUP "$DAEMON_PID"
wait_until 10 grep -q 'Rejected the new configuration' "$DAEMON_LOG" || fail "a reload to a busy queue was not rejected: $(tail -n 5 "$DAEMON_LOG")"
assert_match 'NFQUEUE 9' "$(grep 'Rejected the new configuration' "$DAEMON_LOG")" "the rejection names the busy queue"
assert_eq "$(chain_lines 4)" "$(snoop_chains)" "the chains still send to queue 4"
assert_eq "198.51.100.11 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 b1.senso.cloud 443)" \
        "still snooping on queue 4 after the rejected reload"
# The same at a start: exit 1, saying why (the kernel's EPERM is not a missing CAP_NET_ADMIN).
sed 's/inet other/inet third/; s/other.state/third.state/' "$TEST_DIR/other.conf" >"$TEST_DIR/third.conf"
rc=0
timeout 10 "$ALLOWLISTD" -c "$TEST_DIR/third.conf" 2>"$TEST_DIR/third.log" || rc=$?
assert_eq "1" "$rc" "a start on a busy queue fails"
assert_eq "error: Failed to listen on NFQUEUE 9 for DNS snooping (another program listens on it: choose another snoop_queue=): Device or resource busy" \
        "$(grep 'NFQUEUE 9' "$TEST_DIR/third.log")" "and says that another program listens on the queue"
kill "$OTHER"; wait "$OTHER" 2>/dev/null || true
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
