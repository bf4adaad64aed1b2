#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# on_exit=remove with the documented setup: the operator's forward chain jumps to the daemon's
# chain and one of its rules uses a daemon set. Neither reference makes the removal fail: the
# chain and the used set are flushed (they allow nothing) and reported, everything else goes.
# The table goes only when the daemon made it and it is empty then.
. "$(dirname "$0")/nft-lib.sh"

S=$(spec s <<'X'
table inet filter
chain allowlistd
group csall families=both interval=0 comment=csall
elem csall 192.0.2.1 3600
elem csall 2001:db8::1 3600
allow csall tcp 80 1970
group other families=v4 interval=1 comment=other
elem other 203.0.113.0/24 -
allow other udp 53
X
)
nft -f - <<'X'
table inet filter {
        set csall_v4 {
                type ipv4_addr
                flags timeout
        }
        chain allowlistd {
        }
        chain forward {
                type filter hook forward priority 0; policy drop;
                jump allowlistd
                ip saddr @csall_v4 counter accept
        }
}
X
set +e
out=$("$NFT_DRIVER" remove "$S"); rc=$?
set -e
expect_eq "output" "$out" "leftover: chain inet filter allowlistd: a rule outside it still jumps to it, so it was flushed instead of deleted and allows nothing now; the daemon no longer manages it: Device or resource busy
leftover: set inet filter csall_v4: a rule outside the daemon's chain still uses it, so it was flushed instead of deleted and allows nothing now; the daemon no longer manages it: Device or resource busy"
expect_eq "exit status" "$rc" "0"
expect_eq "sets left" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" "csall_v4 "
expect_eq "used set flushed" "$(elements inet filter csall_v4)" ""
expect_eq "chains left" "$(nft -j list chains inet | jq -r '.nftables[] | select(.chain) | .chain.name' | sort | tr '\n' ' ')" \
        "allowlistd forward "
expect_eq "chain flushed" "$(nft -j list chain inet filter allowlistd | jq '[.nftables[] | select(.rule)] | length')" "0"
expect_eq "operator's rules" "$(nft list chain inet filter forward | sed -n 's/^\t\t//p' | tail -n 2)" \
        'jump allowlistd
ip saddr @csall_v4 counter packets 0 bytes 0 accept'

# The daemon's own table, with the operator jumping into it from a chain of its own there: the
# chain is flushed and kept, the sets go, and the table stays since it is not empty. Without
# the jump everything goes, the table too (nft-objects).
nft flush ruleset
T=$(spec t <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=csall
elem csall 192.0.2.1 3600
allow csall tcp 80
X
)
out=$("$NFT_DRIVER" remove "$T" "run=nft add chain inet allowlistd opchain; nft add rule inet allowlistd opchain jump allowlistd")
expect_eq "remove in our own table" "$out" "leftover: chain inet allowlistd allowlistd: a rule outside it still jumps to it, so it was flushed instead of deleted and allows nothing now; the daemon no longer manages it: Device or resource busy"
expect_eq "our table kept" "$(nft -j list ruleset | jq -r '.nftables[] | select(.set or .chain) | (.set // .chain).name' | sort | tr '\n' ' ')" \
        "allowlistd opchain "

# The daemon's own table with a set of the operator's in it: everything of ours goes, nothing
# is a leftover, and the table stays (the second look at it finds it in use; once a path
# that freed the batch twice).
nft flush ruleset
out=$("$NFT_DRIVER" remove "$T" "run=nft add set inet allowlistd opset '{ type ipv4_addr; }'")
expect_eq "remove next to an operator's set" "$out" ""
expect_eq "only the operator's set left" "$(nft -j list ruleset | jq -r '.nftables[] | select(.set or .chain) | (.set // .chain).name' | sort | tr '\n' ' ')" \
        "opset "
echo OK
