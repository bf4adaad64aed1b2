#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# An operator's nftables.conf declares the table, its own chains and sets, `chain allowlistd {}`
# with a `jump allowlistd`, and an empty csall_v4 before the daemon runs: the daemon fills what
# is its own and leaves everything else exactly as it was, through many applies. A pre-declared
# set of the wrong type is an error naming the set and the difference, and changes nothing; so
# is one of the daemon's own that needs other flags while the operator's rule uses it.
. "$(dirname "$0")/nft-lib.sh"

nft -f - <<'X'
table inet filter {
        set operator_hosts {
                type ipv4_addr
                elements = { 198.51.100.1, 198.51.100.2 }
        }
        set csall_v4 {
                type ipv4_addr
                flags timeout
        }
        chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                jump allowlistd
                ip saddr @operator_hosts counter accept
        }
        chain allowlistd {
        }
        chain other {
                tcp dport 22 accept
        }
}
X
# Everything but the daemon's objects, to compare before and after.
theirs() {
        nft -j list table inet filter | jq -S -c '[.nftables[] | select(.metainfo | not) |
                select((.set.name // "") != "csall_v4" and (.set.name // "") != "csall_v6") |
                select((.chain.name // "") != "allowlistd") |
                select((.rule.chain // "") != "allowlistd")]'
}
before=$(theirs)

A=$(spec a <<'X'
table inet filter
chain allowlistd
group csall families=both interval=0 comment=WiseMo csall
elem csall 192.0.2.1 3600
elem csall 2001:db8::1 3600
allow csall tcp 80 1970
X
)
B=$(spec b <<'X'
table inet filter
chain allowlistd
group csall families=both interval=0 comment=WiseMo csall
elem csall 192.0.2.1 3600
elem csall 192.0.2.2 3600
allow csall tcp 80 1970
group extra families=v4 interval=1 comment=extra
elem extra 203.0.113.0/24 -
allow extra udp 53
X
)
out=$("$NFT_DRIVER" apply "$A" "$B" "$A" "$B" "$B" "$A")
expect_eq "results" "$(echo $out)" "committed committed committed committed unchanged committed"
out=$("$NFT_DRIVER" force "$A")
expect_eq "force" "$out" "committed"

expect_eq "operator objects untouched" "$(theirs)" "$before"
expect_eq "jump still there" "$(nft list chain inet filter forward | grep -c 'jump allowlistd')" "1"
expect_eq "pre-declared set filled" "$(elements inet filter csall_v4)" "192.0.2.1"
expect_eq "its flags kept" "$(set_json inet filter csall_v4 | jq -c '.flags')" '["timeout"]'
expect_eq "daemon's v6 set" "$(elements inet filter csall_v6)" "2001:db8::1"
expect_eq "vanished group's set deleted" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" \
        "csall_v4 csall_v6 operator_hosts "
expect_eq "rules" "$(nft list chain inet filter allowlistd | sed -n 's/^\t\t//p' | wc -l)" "2"

# A pre-declared set of another type: error naming it and the difference, nothing changed.
nft -f - <<'X'
table inet filter {
        set wrong_v4 {
                type ipv6_addr
                flags timeout
        }
        set noto_v4 {
                type ipv4_addr
        }
}
X
before=$(nft -j list ruleset | jq -S -c .)
W=$(spec w <<'X'
table inet filter
chain allowlistd
group wrong families=v4 interval=0 comment=w
elem wrong 192.0.2.1 60
X
)
set +e
out=$("$NFT_DRIVER" apply "$W"); rc=$?
set -e
expect_eq "exit status" "$rc" "1"
expect_eq "error" "$out" "error: set inet filter wrong_v4: exists with type ipv6_addr, expected ipv4_addr: File exists"
N=$(spec n <<'X'
table inet filter
chain allowlistd
group noto families=v4 interval=1 comment=w
elem noto 192.0.2.0/24 -
X
)
set +e
out=$("$NFT_DRIVER" apply "$N"); rc=$?
set -e
expect_eq "exit status" "$rc" "1"
expect_eq "error" "$out" "error: set inet filter noto_v4: exists without flags timeout,interval, expected flags interval,timeout: File exists"
expect_eq "nothing changed" "$(nft -j list ruleset | jq -S -c .)" "$before"

# A set the daemon made needs flags interval now (a static prefix came in), but a rule of the
# operator's uses it, so it cannot be recreated: the error says what is wrong with it.
P1=$(spec p1 <<'X'
table inet mine
chain allowlistd
group pl families=v4 interval=0 comment=pl
elem pl 192.0.2.1 60
X
)
P2=$(spec p2 <<'X'
table inet mine
chain allowlistd
group pl families=v4 interval=1 comment=pl
elem pl 192.0.2.0/24 -
X
)
out=$("$NFT_DRIVER" apply "$P1" "run=nft add chain inet mine op; nft add rule inet mine op ip saddr @pl_v4 accept" "$P2") || true
expect_eq "busy recreate" "$out" "committed
error: set inet mine pl_v4: exists without flags interval, expected flags interval,timeout; it cannot be recreated while a rule outside the daemon's chain uses it: Device or resource busy"
expect_eq "old content kept" "$(elements inet mine pl_v4)" "192.0.2.1"
echo OK
