#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The resolver returns exactly the zone's A and AAAA records, deduplicated and combined per host,
# with the zone's TTL; --family limits the query; 2,000 hosts at once all come back (queue).
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

dns_write_zone <<'ZONE'
192.0.2.1 dual.test
192.0.2.2 dual.test
2001:db8::1 dual.test
2001:db8::2 dual.test
198.51.100.7 v4only.test
2001:db8::6 v6only.test
ZONE
DNS_TTL=300
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" dual.test v4only.test v6only.test)"
assert_eq "dual.test ok nxdomain=0 ttl=300 addrs=192.0.2.1,192.0.2.2,2001:db8::1,2001:db8::2
v4only.test ok nxdomain=0 ttl=300 addrs=198.51.100.7
v6only.test ok nxdomain=0 ttl=300 addrs=2001:db8::6" "$out" "A and AAAA, both families"

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --family 4 dual.test v6only.test)"
assert_eq "dual.test ok nxdomain=0 ttl=300 addrs=192.0.2.1,192.0.2.2
v6only.test ok nxdomain=0 ttl=none addrs=" "$out" "IPv4 only"

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --family 6 dual.test v4only.test)"
assert_eq "dual.test ok nxdomain=0 ttl=300 addrs=2001:db8::1,2001:db8::2
v4only.test ok nxdomain=0 ttl=none addrs=" "$out" "IPv6 only"

# The zone changes and dnsmasq reloads: the next query sees the new contents (no cache).
dns_set dual.test 192.0.2.9
dns_reload
out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" dual.test)"
assert_eq "dual.test ok nxdomain=0 ttl=300 addrs=192.0.2.9" "$out" "answer after the zone changed"

# 2,000 hosts, one IPv4 and one IPv6 address each: all answered, none lost to the in-flight
# bound or the queue behind it.
for i in $(seq 0 1999); do
        printf '10.%d.%d.1 h%d.test\nfd00::%x h%d.test\n' $((i / 256)) $((i % 256)) "$i" "$i" "$i"
done | dns_write_zone
for i in $(seq 0 1999); do echo "h$i.test"; done >"$TEST_DIR/names"
dns_reload
out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --file "$TEST_DIR/names")"
assert_eq 2000 "$(grep -c ' ok nxdomain=0 ttl=300 addrs=10\.[0-9]*\.[0-9]*\.1,fd00::[0-9a-f]*$' <<<"$out")" \
        "2,000 hosts answered with one address per family"
assert_eq "h1234.test ok nxdomain=0 ttl=300 addrs=10.4.210.1,fd00::4d2" "$(grep '^h1234\.test ' <<<"$out")" \
        "one of the 2,000, exactly"
