#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A name with 500 A records does not fit a UDP answer (EDNS 1280 bytes): dnsmasq sets TC and
# the resolver must retry over TCP and return all 500.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

for i in $(seq 1 500); do
        echo "198.51.$((i / 256)).$((i % 256)) big.test"
done >"$TEST_DIR/expected.zone"
dns_write_zone <"$TEST_DIR/expected.zone"
DNS_LOG_QUERIES=0
dns_start

out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --family 4 big.test)"
assert_match '^big\.test ok nxdomain=0 ttl=300 addrs=' "$out" "500 records: an answer"
got="$(sed 's/.* addrs=//' <<<"$out" | tr , '\n' | sort)"
want="$(awk '{ print $1 }' "$TEST_DIR/expected.zone" | sort)"
assert_eq 500 "$(wc -l <<<"$got")" "500 records: count"
assert_eq "$want" "$got" "500 records: every address"
