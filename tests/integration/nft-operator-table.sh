#!/bin/bash
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

# A set an earlier process of the daemon made is its own (marked in its userdata): a later
# process recreates it with flags interval in one transaction, and one process that first
# found it compatible does the same when a prefix comes in (a SIGHUP after a restart).
nft flush ruleset
R1=$(spec r1 <<'X'
table inet earlier
chain allowlistd
group r families=both interval=0 comment=r
elem r 192.0.2.1 3600
elem r 2001:db8::1 3600
allow r tcp 443
X
)
R2=$(spec r2 <<'X'
table inet earlier
chain allowlistd
group r families=both interval=1 comment=r
elem r 192.0.2.1 3600
elem r 203.0.113.0/24 -
elem r 2001:db8::1 3600
allow r tcp 443
X
)
expect_eq "earlier process" "$("$NFT_DRIVER" apply "$R1")" "committed"
# The mark shows nowhere: the set lists like one nft declared with the same comment.
expect_eq "listing of our set" "$(nft list set inet earlier r_v4 | sed -n 's/^\t\t//p' | head -n 3)" 'type ipv4_addr
flags timeout
comment "r"'
nft list ruleset >"$WORK/saved"
gen=$("$NFT_DRIVER" generation -)
expect_eq "later process" "$("$NFT_DRIVER" apply "$R2")" "committed"
expect_eq "one transaction" "$("$NFT_DRIVER" generation -)" "$((gen + 1))"
expect_eq "recreated with interval" "$(set_json inet earlier r_v4 | jq -c '[.flags, .comment]')" '[["interval","timeout"],"r"]'
expect_eq "its content" "$(elements inet earlier r_v4 | tr '\n' ' ')" "192.0.2.1 203.0.113.0/24 "
expect_eq "v6 set too" "$(set_json inet earlier r_v6 | jq -c '[.flags, .comment]')" '[["interval","timeout"],"r"]'
expect_eq "v6 content" "$(elements inet earlier r_v6)" "2001:db8::1"
expect_eq "rules back" "$(nft list chain inet earlier allowlistd | grep -c '@r_v')" "2"
nft delete table inet earlier
"$NFT_DRIVER" apply "$R1" >/dev/null
expect_eq "compatible first, then a prefix, in one process" "$(echo $("$NFT_DRIVER" apply "$R1" "$R2"))" "committed committed"
expect_eq "recreated with interval (one process)" "$(set_json inet earlier r_v4 | jq -c '.flags')" '["interval","timeout"]'
# A saved listing loaded by nft -f is the operator's file: no mark, so not recreated.
nft flush ruleset
nft -f "$WORK/saved"
set +e
out=$("$NFT_DRIVER" apply "$R2"); rc=$?
set -e
expect_eq "reloaded copy is the operator's" "$rc $out" \
        "1 error: set inet earlier r_v4: exists without flags interval, expected flags interval,timeout: File exists"

# Operator-declared sets the kernel would take but that would go wrong: a default timeout
# (static addresses would take it and vanish), flags beyond timeout and interval, statements
# for the elements (the kernel refuses our NEWSET: say why). interval without need is fine.
nft flush ruleset
nft -f - <<'X'
table inet op {
        set dt_v6 {
                type ipv6_addr
                flags timeout
                timeout 1h
        }
        set dyn_v4 {
                type ipv4_addr
                flags dynamic,timeout
        }
        set cnt_v4 {
                type ipv4_addr
                flags timeout
                counter
        }
        set const_v4 {
                type ipv4_addr
                flags constant,interval
        }
        set iv_v4 {
                type ipv4_addr
                flags interval,timeout
        }
}
X
before=$(nft -j list ruleset | jq -S -c .)
refused() { # GROUP FAMILY EXPECTED-ERROR
        printf 'table inet op\nchain -\ngroup %s families=%s interval=0 comment=%s\n' "$1" "$2" "$1" >"$WORK/g-$1"
        if [ "$2" = v6 ]; then echo "elem $1 2001:db8::1 -"; else echo "elem $1 192.0.2.1 -"; fi >>"$WORK/g-$1"
        set +e
        out=$("$NFT_DRIVER" apply "$WORK/g-$1"); rc=$?
        set -e
        expect_eq "$1 refused" "$rc $out" "1 error: set inet op $3: File exists"
}
refused dt v6 'dt_v6: exists with a default timeout (timeout 1h) that static addresses would take, so they would vanish: remove `timeout 1h` from its declaration'
refused dyn v4 'dyn_v4: exists with flags dynamic,timeout, expected flags timeout: the daemon cannot fill a set with flags dynamic'
refused cnt v4 'cnt_v4: exists with statements for its elements (such as counter), expected a plain set: remove them from its declaration'
refused const v4 'const_v4: exists with flags constant,interval, expected flags interval,timeout: the daemon cannot fill a set with flags constant'
expect_eq "nothing changed by the refused ones" "$(nft -j list ruleset | jq -S -c .)" "$before"
printf 'table inet op\nchain -\ngroup iv families=v4 interval=0 comment=iv\nelem iv 192.0.2.1 -\nelem iv 192.0.2.7 60\n' >"$WORK/g-iv"
expect_eq "interval without need" "$("$NFT_DRIVER" apply "$WORK/g-iv")" "committed"
expect_eq "interval without need: content" "$(elements inet op iv_v4 | tr '\n' ' ')" "192.0.2.1 192.0.2.7 "
echo OK
