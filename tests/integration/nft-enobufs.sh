#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lost ACKs (ENOBUFS on the batch socket, forced with a tiny receive buffer) fail that one apply;
# the ACKs still queued must not be taken for the replies of the next exchanges, which would
# otherwise fail with EPROTO for ever, each one leaving its own reply behind for the next.
. "$(dirname "$0")/nft-lib.sh"

{
        echo "table inet allowlistd"
        echo "chain allowlistd"
        for i in $(seq 40); do
                echo "group g$i families=both interval=0 comment=g$i"
                echo "elem g$i 192.0.2.$i 3600"
                echo "elem g$i 2001:db8::$i 3600"
                echo "allow g$i tcp 80 443"
        done
} >"$WORK/spec"
set +e
out=$("$NFT_DRIVER" enobufs "$WORK/spec"); rc=$?
set -e
expect_eq "results" "$out" "error: table inet allowlistd: starting the transaction: reading the kernel's replies: No buffer space available
committed
unchanged"
expect_eq "exit status" "$rc" "0"
expect_eq "sets" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | wc -l)" "80"
expect_eq "g40_v4" "$(elements inet allowlistd g40_v4)" "192.0.2.40"
expect_eq "g1_v6" "$(elements inet allowlistd g1_v6)" "2001:db8::1"
expect_eq "rules" "$(nft list chain inet allowlistd allowlistd | grep -c 'dport { 80, 443 } counter packets 0 bytes 0 accept')" "80"
echo OK
