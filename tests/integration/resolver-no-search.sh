#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Without dns_servers the resolver reads /etc/resolv.conf (here a private copy bind-mounted in
# the test's mount namespace) for its servers, but never appends its search domain, whatever
# ndots says, and never consults /etc/hosts.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

use_resolv_conf "nameserver 127.0.0.1
search test
options ndots:5"
dns_write_zone <<'ZONE'
192.0.2.1 a.test
192.0.2.2 short.test
ZONE
dns_start

out="$("$RESOLVE_DRIVER" a.test)"
assert_eq "a.test ok nxdomain=0 ttl=300 addrs=192.0.2.1" "$out" "servers from resolv.conf"

out="$("$RESOLVE_DRIVER" --family 4 short)"
assert_eq "short fail nxdomain=0 ttl=none addrs= error=SERVFAIL/REFUSED/connection refused" "$out" \
        "single label: asked as is, refused"
assert_eq 0 "$(dns_query_count short.test)" "the search domain was never appended"
assert_eq 2 "$(dns_query_count short)" "the name itself was asked (twice: tries=2)"

# /etc/hosts is not consulted: a name only there fails like any unknown name.
printf '127.0.0.1 localhost\n203.0.113.5 hostsonly.test\n' >"$TEST_DIR/hosts"
mount --bind "$TEST_DIR/hosts" /etc/hosts
out="$("$RESOLVE_DRIVER" --family 4 hostsonly.test)"
assert_eq "hostsonly.test ok nxdomain=1 ttl=none addrs=" "$out" "/etc/hosts is not consulted"
