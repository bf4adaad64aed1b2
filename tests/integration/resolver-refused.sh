#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A server that answers REFUSED (dnsmasq for a name outside its zone, with no upstream) is a
# failure, not an empty answer. c-ares 1.18 reports it, once every server refused, as
# ARES_ECONNREFUSED: hence the combined text.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

echo "192.0.2.1 a.test" | dns_write_zone
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" elsewhere.example)"
assert_eq "elsewhere.example fail nxdomain=0 ttl=none addrs= error=SERVFAIL/REFUSED/connection refused" \
        "$out" "REFUSED is a failure"
assert_match 'REFUSED' "$(grep -F 'elsewhere.example' "$DNS_LOG" -A1 | grep -v query)" "dnsmasq did refuse"
