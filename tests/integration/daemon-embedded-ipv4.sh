#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# IPv6 answers that carry an IPv4 address are judged by it (DNS rebinding): with
# allow_private = no the NAT64, 6to4, IPv4-compatible and Teredo forms of 10.0.0.1 and
# 192.168.1.1 are refused like an A record for 10.0.0.1, while those of a public address pass;
# with allow_private = yes the private ones pass and the loopback ones still do not.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"

# Teredo 2001:0:SERVER:FLAGS:~PORT:~CLIENT; client 198.51.100.7 inverted is 39cc:9bf8.
dns_write_zone <<'ZONE'
10.0.0.1 v4.vendor.test
192.0.2.5 v4.vendor.test
64:ff9b::a00:1 nat64.vendor.test
64:ff9b::c0a8:101 nat64.vendor.test
64:ff9b::7f00:1 nat64.vendor.test
64:ff9b::c000:205 nat64.vendor.test
2002:c0a8:101::1 sixtofour.vendor.test
2002:c000:205::1 sixtofour.vendor.test
::10.0.0.1 compat.vendor.test
::127.0.0.1 compat.vendor.test
2001:db8::5 compat.vendor.test
2001:0:a00:1:0:ffff:39cc:9bf8 teredo.vendor.test
2001:0:c000:201:0:ffff:39cc:9bf8 teredo.vendor.test
64:ff9b:1::a00:1 local64.vendor.test
ZONE
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
allow_private = $1

[p]
hosts = v4.vendor.test nat64.vendor.test sixtofour.vendor.test compat.vendor.test teredo.vendor.test local64.vendor.test
allow = tcp/443
validity = 1h"
}

config no
daemon_start
assert_eq "192.0.2.5" "$(set_elements inet allowlistd p_v4)" "A: private refused"
assert_eq "2001:0:c000:201:0:ffff:39cc:9bf8
2001:db8::5
2002:c000:205::1
64:ff9b::c000:205" "$(set_elements inet allowlistd p_v6 | sort)" \
        "AAAA: only the forms of public IPv4 addresses (and the plain public one)"
for refused in "nat64.vendor.test: ignoring 64:ff9b::a00:1 from DNS: NAT64 (64:ff9b::/96) of 10.0.0.1, private (10.0.0.0/8) addresses are never allowed unless allow_private=yes." \
               "nat64.vendor.test: ignoring 64:ff9b::c0a8:101 from DNS: NAT64 (64:ff9b::/96) of 192.168.1.1, private (192.168.0.0/16) addresses are never allowed unless allow_private=yes." \
               "nat64.vendor.test: ignoring 64:ff9b::7f00:1 from DNS: NAT64 (64:ff9b::/96) of 127.0.0.1, loopback (127.0.0.0/8) addresses are never allowed." \
               "sixtofour.vendor.test: ignoring 2002:c0a8:101::1 from DNS: 6to4 (2002::/16) of 192.168.1.1, private (192.168.0.0/16) addresses are never allowed unless allow_private=yes." \
               "compat.vendor.test: ignoring ::10.0.0.1 from DNS: IPv4-compatible (::/96) of 10.0.0.1, private (10.0.0.0/8) addresses are never allowed unless allow_private=yes." \
               "compat.vendor.test: ignoring ::127.0.0.1 from DNS: IPv4-compatible (::/96) of 127.0.0.1, loopback (127.0.0.0/8) addresses are never allowed." \
               "teredo.vendor.test: ignoring 2001:0:a00:1:0:ffff:39cc:9bf8 from DNS: Teredo (2001::/32) with server 10.0.0.1, private (10.0.0.0/8) addresses are never allowed unless allow_private=yes." \
               "local64.vendor.test: ignoring 64:ff9b:1::a00:1 from DNS: local-use NAT64 (64:ff9b:1::/48) addresses are never allowed unless allow_private=yes."; do
        assert_eq 1 "$(grep -cF "$refused" "$DAEMON_LOG")" "logged once: $refused"
done
daemon_stop
nft delete table inet allowlistd

config yes
daemon_start
assert_eq $'10.0.0.1\n192.0.2.5' "$(set_elements inet allowlistd p_v4)" "A: private allowed with allow_private = yes"
assert_eq "2001:0:a00:1:0:ffff:39cc:9bf8
2001:0:c000:201:0:ffff:39cc:9bf8
2001:db8::5
2002:c000:205::1
2002:c0a8:101::1
64:ff9b:1::a00:1
64:ff9b::a00:1
64:ff9b::c000:205
64:ff9b::c0a8:101
::10.0.0.1" "$(set_elements inet allowlistd p_v6 | sort)" \
        "AAAA: private forms allowed with allow_private = yes, loopback ones never"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
