#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# DNS snooping over IPv6 transport at a gateway, with real packets: the client asks the outside
# resolver at 2001:db8:2::53 over UDP/IPv6, for AAAA and for A records, and connects the moment
# the answer arrives: the first SYN passes both times (the addresses were in the sets before the
# reply was let through). snoop_servers= with an IPv6 address gets an ip6 saddr rule. The sets
# hold exactly the answered addresses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
2001:db8:100::10 v6.senso.cloud
198.51.100.10 v4.senso.cloud
2001:db8:100::11 other.example.net
HOSTS
snoop_topology
# The client reaches the resolver over IPv6 only.
assert_eq "" "$(in_client ip -6 route get 2001:db8:2::53 >/dev/null 2>&1 || echo no-route)" "the client has an IPv6 route"

snoop_config "snoop_queue = 6
snoop_servers = 2001:db8:2::53" "[senso]
domains = senso.cloud
allow = tcp/443"
daemon_start

assert_eq 'snoop_forward:
  type filter hook forward priority filter + 10; policy accept;
  ip6 saddr 2001:db8:2::53 udp sport 53 ct direction reply queue num 6 bypass
snoop_output:
  type filter hook output priority filter + 10; policy accept;
  ip6 saddr 2001:db8:2::53 udp sport 53 ct direction reply queue num 6 bypass' "$(snoop_chains)" \
        "an IPv6 resolver gets an ip6 saddr rule"

assert_eq "2001:db8:100::10 connected" "$(in_client "$SNOOP_CLIENT" 2001:db8:2::53 v6.senso.cloud 443 aaaa)" \
        "AAAA over IPv6: the first SYN passes"
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 2001:db8:2::53 v4.senso.cloud 443 a)" \
        "A over IPv6: the first SYN passes"
assert_eq "2001:db8:100::11 refused" "$(in_client "$SNOOP_CLIENT" 2001:db8:2::53 other.example.net 443 aaaa)" \
        "a name outside the domain, over IPv6: refused"
assert_eq "2001:db8:100::10" "$(set_elements inet filter senso_v6)" "senso_v6 holds exactly the AAAA answer"
assert_eq "198.51.100.10" "$(set_elements inet filter senso_v4)" "senso_v4 holds exactly the A answer"
grep -q 'v6.senso.cloud: +2001:db8:100::10 ' "$DAEMON_LOG" || fail "the addition was not logged under its name"
echo "ok: logged under the name"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
