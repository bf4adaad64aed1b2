#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CNAME chains are followed, and an address's TTL is the smallest along its chain, CNAMEs
# included (what ares_getaddrinfo()'s ai_ttl would get wrong).
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

dns_write_zone <<'ZONE'
192.0.2.3 target.test
2001:db8::3 target.test
ZONE
DNS_TTL=300                              # A and AAAA of target.test
dns_cname short-cname.test target.test 30   # CNAME TTL below the A TTL: 30 wins
dns_cname long-cname.test target.test 900   # CNAME TTL above: the A's 300 wins
dns_cname chain1.test chain2.test 600       # chain1 -> chain2 -> target: 20 from the middle
dns_cname chain2.test target.test 20
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" target.test short-cname.test long-cname.test chain1.test)"
assert_eq "chain1.test ok nxdomain=0 ttl=20 addrs=192.0.2.3,2001:db8::3
long-cname.test ok nxdomain=0 ttl=300 addrs=192.0.2.3,2001:db8::3
short-cname.test ok nxdomain=0 ttl=30 addrs=192.0.2.3,2001:db8::3
target.test ok nxdomain=0 ttl=300 addrs=192.0.2.3,2001:db8::3" "$out" "CNAME chains and their TTLs"
