#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A dead DNS server is a failure within seconds, not c-ares' default 75 s: stopped (the kernel
# answers with ICMP port unreachable) and black-holed (nothing comes back: timeouts and retries,
# 1 s + 2 s with the resolver's settings). The bound asserted is generous; the time is printed.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

echo "192.0.2.1 a.test" | dns_write_zone
dns_start
out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" a.test)"
assert_eq "a.test ok nxdomain=0 ttl=300 addrs=192.0.2.1" "$out" "answer while dnsmasq runs"

dns_stop
start=$(date +%s%N)
out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" a.test)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "stopped server: failed after ${ms} ms"
assert_eq "a.test fail nxdomain=0 ttl=none addrs= error=SERVFAIL/REFUSED/connection refused" "$out" \
        "stopped server is a failure"
(( ms < 15000 )) || fail "stopped server took ${ms} ms to fail"

# Black hole: the server runs, but nothing reaches it (dropped on input, so the sender gets no
# error either).
dns_start
nft -f - <<'NFT'
table inet blackhole {
        chain input {
                type filter hook input priority 0;
                udp dport 53 drop
                tcp dport 53 drop
        }
}
NFT
start=$(date +%s%N)
out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" a.test)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "black-holed server: failed after ${ms} ms"
assert_eq "a.test fail nxdomain=0 ttl=none addrs= error=timeout" "$out" "black-holed server is a timeout"
(( ms < 15000 )) || fail "black-holed server took ${ms} ms to fail"
