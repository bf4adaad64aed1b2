#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `allowlistd --once` with 100,000 static addresses in one group: exactly 100,000 elements in the
# kernel; then 100,000 static entries of which some prefixes cover others, plus a DNS name whose
# answer a static prefix covers: every entry that no broader one covers is in the kernel,
# exactly. Each run must stay far inside 30 s. The bound is not a timing test (a run takes well
# under a second): it catches a cost that grows with the square of the number of entries, which
# took about a minute here.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

N=100000
BOUND=30

dns_set covered.vendor.test 16.0.0.5 2001:db8:ffff::1
dns_set outside.vendor.test 198.51.100.7
dns_start

count() {
        nft -j list set inet allowlistd "$1" | jq '[.nftables[] | select(.set) | .set.elem // [] | .[]] | length'
}

# once_bounded WHAT: --once on allowlistd.conf, killed after BOUND seconds.
once_bounded() {
        local rc=0 t0 t1
        "$ALLOWLISTD" -c "$TEST_DIR/allowlistd.conf" --check-config >"$TEST_DIR/check" 2>&1 ||
                fail "$1: the generated configuration is refused: $(tail -n 5 "$TEST_DIR/check")"
        t0="$(date +%s%N)"
        timeout -s KILL "$BOUND" "$ALLOWLISTD" -c "$TEST_DIR/allowlistd.conf" --once 2>"$TEST_DIR/err" || rc=$?
        t1="$(date +%s%N)"
        (( rc != 137 )) || fail "--once with $1 did not finish within ${BOUND} s"
        assert_eq 0 "$rc" "--once with $1 exits 0: $(tail -n 5 "$TEST_DIR/err")"
        echo "--once with $1: $(( (t1 - t0) / 1000000 )) ms"
}

header() {
        printf '[daemon]\ndns_servers = %s\nstate_file = %s\n\n[big]\nallow = tcp/443\nvalidity = 1h\n' \
                "$DNS_SERVERS" "$TEST_DIR/state"
}

# ---- N single static addresses, 16.0.0.0 + i, one a line, in reverse order (the file's order
# must not matter): exactly N elements.
{
        header
        printf 'addresses =\n'
        awk -v n="$N" 'BEGIN { for (i = n - 1; i >= 0; i--) printf "        16.%d.%d.%d\n", int(i / 65536), int(i / 256) % 256, i % 256 }'
} >"$TEST_DIR/allowlistd.conf"
once_bounded "$N static addresses"
assert_eq "$N" "$(count big_v4)" "exactly $N elements in big_v4"
elems="$(set_elements inet allowlistd big_v4)"
assert_eq $'16.0.0.0\n16.0.0.1' "$(head -n 2 <<<"$elems")" "the first static addresses"
assert_eq "16.1.134.159" "$(tail -n 1 <<<"$elems")" "the last static address"
nft delete table inet allowlistd
rm -f "$TEST_DIR/state"

# ---- N static entries: 16.0.0.0 + i for i < N - 3; plus 16.0.0.0/24 and 16.0.1.0/25, which
# cover 256 + 128 of them, and 2001:db8:ffff::/48; and two DNS names, one answering inside the
# static prefixes.
{
        header
        printf 'hosts = covered.vendor.test outside.vendor.test\n'
        printf 'addresses = 16.0.0.0/24 2001:db8:ffff::/48\n'
        awk -v n="$N" 'BEGIN { for (i = n - 4; i >= 0; i--) printf "        16.%d.%d.%d\n", int(i / 65536), int(i / 256) % 256, i % 256 }'
        printf '        16.0.1.0/25\n'
} >"$TEST_DIR/allowlistd.conf"
once_bounded "$N static entries, some covering others"

# Kept: the two prefixes, and every single address outside them: N - 3 - 256 - 128 + 2.
# DNS's 16.0.0.5 lies in 16.0.0.0/24 and 2001:db8:ffff::1 in the /48: neither is added.
# 198.51.100.7 is no static's: it is added.
expected=$(( N - 3 - 256 - 128 + 2 + 1 ))
assert_eq "$expected" "$(count big_v4)" "every uncovered static entry, and the DNS address outside them, in big_v4"
assert_eq "1" "$(count big_v6)" "big_v6 holds only the static /48"
elems="$(set_elements inet allowlistd big_v4)"
assert_eq $'16.0.0.0/24\n16.0.1.0/25\n16.0.1.128' "$(head -n 3 <<<"$elems")" "the prefixes, then the first address they do not cover"
assert_eq "16.1.134.156" "$(grep -x '16\.1\.134\.156' <<<"$elems")" "the last static address is there"
assert_eq "198.51.100.7" "$(grep -x '198\.51\.100\.7' <<<"$elems")" "the DNS address outside the statics is there"
[[ -z "$(grep -x '16\.0\.0\.5' <<<"$elems")" ]] || fail "16.0.0.5 is covered by 16.0.0.0/24 and must not be an element of its own"
assert_eq "2001:db8:ffff::/48" "$(set_elements inet allowlistd big_v6)" "big_v6"
echo "ok: $expected elements"
