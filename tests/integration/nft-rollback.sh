#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A failing element rolls back the whole batch: the operator declared csall_v4 with room for
# 4 elements, the fifth makes the kernel refuse it (ENFILE) after the other set's new content
# and the new rule were already in the batch; all previous contents stay, and the error names
# the set.
. "$(dirname "$0")/nft-lib.sh"

nft -f - <<'X'
table inet allowlistd {
        set csall_v4 {
                type ipv4_addr
                size 4
                flags timeout
        }
}
X
A=$(spec a <<'X'
table inet allowlistd
chain allowlistd
group other families=v4 interval=0 comment=other
elem other 198.51.100.1 600
allow other tcp 22
group csall families=v4 interval=0 comment=csall
elem csall 192.0.2.1 600
elem csall 192.0.2.2 600
elem csall 192.0.2.3 600
allow csall tcp 80
X
)
B=$(spec b <<'X'
table inet allowlistd
chain allowlistd
group other families=v4 interval=0 comment=other
elem other 198.51.100.7 600
allow other tcp 22 23
group csall families=v4 interval=0 comment=csall
elem csall 192.0.2.1 600
elem csall 192.0.2.2 600
elem csall 192.0.2.3 600
elem csall 192.0.2.4 600
elem csall 192.0.2.5 600
allow csall tcp 80
X
)
expect_eq "first apply" "$("$NFT_DRIVER" apply "$A")" "committed"
before=$(nft -j list ruleset | jq -S -c 'walk(if type == "object" then del(.handle, .expires) else . end)')

set +e
out=$("$NFT_DRIVER" apply "$A" "$B"); rc=$?
set -e
expect_eq "exit status" "$rc" "1"
expect_eq "output" "$(echo "$out" | tail -n 1)" \
        "error: set inet allowlistd csall_v4: the set is full (declared with a size limit?): Too many open files in system"
expect_eq "other set unchanged" "$(elements inet allowlistd other_v4)" "198.51.100.1"
expect_eq "csall set unchanged" "$(elements inet allowlistd csall_v4 | tr '\n' ' ')" "192.0.2.1 192.0.2.2 192.0.2.3 "
expect_eq "rules unchanged" "$(nft list chain inet allowlistd allowlistd | grep -c 'dport { 22, 23 }')" "0"
expect_eq "whole ruleset unchanged" "$(nft -j list ruleset | jq -S -c 'walk(if type == "object" then del(.handle, .expires) else . end)')" "$before"

# The same process recovers once the content fits again.
out=$("$NFT_DRIVER" apply "$B" "$A" 2>&1 || true)
expect_eq "after a failure" "$(echo "$out" | tail -n 1)" "committed"
echo OK
