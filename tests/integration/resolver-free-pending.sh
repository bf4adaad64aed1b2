#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# resolver_free() from a result callback while hundreds of queries are queued or in flight:
# no further callback, nothing leaks (meaningful under -Db_sanitize=address).
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

for i in $(seq 0 299); do
        printf '10.0.%d.%d h%d.test\n' $((i / 256)) $((i % 256)) "$i"
done | dns_write_zone
for i in $(seq 0 299); do echo "h$i.test"; done >"$TEST_DIR/names"
DNS_LOG_QUERIES=0
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --free-after 10 --file "$TEST_DIR/names")"
assert_eq "freed after 10 of 300, late callbacks: 0" "$out" "free with queries outstanding"

