#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# NXDOMAIN and NODATA are answers (error 0, no addresses); NXDOMAIN is flagged.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

echo "192.0.2.1 v4only.test" | dns_write_zone
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" missing.test v4only.test)"
assert_eq "missing.test ok nxdomain=1 ttl=none addrs=
v4only.test ok nxdomain=0 ttl=300 addrs=192.0.2.1" "$out" "NXDOMAIN, and NODATA for AAAA"

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --family 6 v4only.test)"
assert_eq "v4only.test ok nxdomain=0 ttl=none addrs=" "$out" "NODATA alone is an empty answer"
