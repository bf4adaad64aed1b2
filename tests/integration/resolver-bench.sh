#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (meson benchmark, not a test): 2,000 dual-stack hosts (4,000 DNS queries, at most
# 64 in flight) against dnsmasq on loopback. Prints the elapsed time; the goal is about 1 s.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVE_DRIVER:?}"

for i in $(seq 0 1999); do
        printf '10.%d.%d.1 h%d.test\nfd00::%x h%d.test\n' $((i / 256)) $((i % 256)) "$i" "$i" "$i"
done | dns_write_zone
for i in $(seq 0 1999); do echo "h$i.test"; done >"$TEST_DIR/names"
DNS_LOG_QUERIES=0   # logging every query would measure dnsmasq's log writes
dns_start

for run in 1 2 3; do
        out="$("$RESOLVE_DRIVER" --servers "$DNS_SERVERS" --summary --file "$TEST_DIR/names" 2>/dev/null)"
        echo "run $run: $out"
        assert_match '^names=2000 ok=2000 fail=0 addresses=4000 ' "$out" "run $run complete"
done
