#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# snoop_servers= at a gateway, with real packets: replies from the listed resolver are snooped
# (the first SYN to the answered address passes); replies from another resolver (a second
# dnsmasq on another address) reach the client without entering the queue (its packet count
# does not move) and teach nothing: the set holds exactly what the listed one answered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
198.51.100.10 a1.senso.cloud
HOSTS
cat >"$TEST_DIR/outside2.hosts" <<'HOSTS'
198.51.100.11 b1.senso.cloud
198.51.100.12 a1.senso.cloud
HOSTS
snoop_topology
snoop_second_resolver

snoop_config "snoop_queue = 5
snoop_servers = 192.0.2.53" "[senso]
domains = senso.cloud
allow = tcp/443"
daemon_start

assert_eq 'snoop_forward:
  type filter hook forward priority filter + 10; policy accept;
  ip saddr 192.0.2.53 udp sport 53 ct direction reply queue num 5 bypass
snoop_output:
  type filter hook output priority filter + 10; policy accept;
  ip saddr 192.0.2.53 udp sport 53 ct direction reply queue num 5 bypass' "$(snoop_chains)" \
        "only replies from 192.0.2.53 go to queue 5"

assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" \
        "from the listed resolver: snooped, the first SYN passes"
queued=$(queued_count 5)
[[ "$queued" =~ ^[0-9]+$ ]] && (( queued >= 1 )) || fail "queue 5 saw no packet: $queued"

assert_eq "198.51.100.11 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.54 b1.senso.cloud 443)" \
        "from another resolver: the reply arrives, nothing learned, the SYN is refused"
assert_eq "198.51.100.12 refused" "$(in_client "$SNOOP_CLIENT" 192.0.2.54 a1.senso.cloud 443)" \
        "another resolver's other answer for a known name teaches nothing either"
assert_eq "$queued" "$(queued_count 5)" "the other resolver's replies never entered the queue"
assert_eq "198.51.100.10" "$(set_elements inet filter senso_v4)" "the set holds exactly what the listed resolver answered"
grep -q 'b1.senso.cloud' "$DAEMON_LOG" && fail "the daemon logged a name of the other resolver: $(grep b1 "$DAEMON_LOG")"
echo "ok: nothing of the other resolver in the journal"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
