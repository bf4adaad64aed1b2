#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The owned objects: exact names, types, flags, comments, rules; timeouts on DNS-derived
# elements (shrinking across applies), none on static ones; unchanged content sends nothing;
# table families select the sets.
. "$(dirname "$0")/nft-lib.sh"

S=$(spec full <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=WiseMo csall.wisemo.com: "remote" control
elem csall 192.0.2.1 3600
elem csall 192.0.2.7 30
elem csall 2001:db8::1 600
allow csall tcp 80 1970
group stat families=v4 interval=1 comment=static prefixes
elem stat 10.0.0.0/8 -
elem stat 192.0.2.9 100
elem stat 255.255.255.0/24 -
allow stat udp 1970-1980
allow stat tcp 443
X
)
S2=$(spec more <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=WiseMo csall.wisemo.com: "remote" control
elem csall 192.0.2.1 3600
elem csall 192.0.2.7 30
elem csall 192.0.2.8 30
elem csall 2001:db8::1 600
allow csall tcp 80 1970
group stat families=v4 interval=1 comment=static prefixes
elem stat 10.0.0.0/8 -
elem stat 192.0.2.9 100
elem stat 255.255.255.0/24 -
allow stat udp 1970-1980
allow stat tcp 443
X
)

out=$("$NFT_DRIVER" apply "$S" "$S" sleep=2 "$S2")
expect_eq "apply results" "$(echo $out)" "committed unchanged committed"

# sets: names, types, flags, comments (a double quote cannot live in an nft string)
expect_eq "set names" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" \
        "csall_v4 csall_v6 stat_v4 "
expect_eq "csall_v4" "$(set_json inet allowlistd csall_v4 | jq -c '[.type, .flags, .comment]')" \
        '["ipv4_addr",["timeout"],"WiseMo csall.wisemo.com: '"'"'remote'"'"' control"]'
expect_eq "csall_v6" "$(set_json inet allowlistd csall_v6 | jq -c '[.type, .flags]')" '["ipv6_addr",["timeout"]]'
expect_eq "stat_v4" "$(set_json inet allowlistd stat_v4 | jq -c '[.type, .flags, .comment]')" \
        '["ipv4_addr",["interval","timeout"],"static prefixes"]'

# elements and timeouts: the second content went in 2 s after the first, with the same expiries:
# 192.0.2.1 and .7 were not sent again (only the difference is: 192.0.2.8), so they keep their
# timeouts and expire 2 s sooner; 192.0.2.8 came in with the time it had left
expect_eq "csall_v4 elements" "$(elements inet allowlistd csall_v4 | tr '\n' ' ')" "192.0.2.1 192.0.2.7 192.0.2.8 "
t1=$(set_json inet allowlistd csall_v4 | jq '.elem[] | select(.elem.val == "192.0.2.1") | .elem.expires')
t7=$(set_json inet allowlistd csall_v4 | jq '.elem[] | select(.elem.val == "192.0.2.7") | .elem.expires')
t8=$(set_json inet allowlistd csall_v4 | jq '.elem[] | select(.elem.val == "192.0.2.8") | .elem.timeout')
[ "$t1" -ge 3596 ] && [ "$t1" -le 3598 ] || fail "192.0.2.1 expires in $t1 s, expected 3600 minus the 2 s that passed"
expect_eq "192.0.2.1 timeout" "$(set_json inet allowlistd csall_v4 |
        jq '.elem[] | select(.elem.val == "192.0.2.1") | .elem.timeout')" 3600
[ "$t7" -ge 26 ] && [ "$t7" -le 28 ] || fail "192.0.2.7 expires in $t7 s, expected 30 minus 2"
[ "$t8" -ge 27 ] && [ "$t8" -le 29 ] || fail "timeout of 192.0.2.8 is $t8, expected 30 minus 2"
expect_eq "csall_v6 elements" "$(elements inet allowlistd csall_v6)" "2001:db8::1"
expect_eq "stat_v4 elements" "$(elements inet allowlistd stat_v4 | tr '\n' ' ')" "10.0.0.0/8 192.0.2.9 255.255.255.0/24 "
expect_eq "static entries have no timeout" \
        "$(set_json inet allowlistd stat_v4 | jq -c '[.elem[] | select(.prefix) | .prefix.len]')" "[8,24]"
expect_eq "dynamic entry in an interval set has its timeout" \
        "$(set_json inet allowlistd stat_v4 | jq '[.elem[] | select(.elem) | .elem.timeout > 90] | all')" "true"

# rules, exactly as nft prints them
nft list chain inet allowlistd allowlistd | sed -n 's/^\t\t//p' >"$WORK/rules"
cat >"$WORK/rules.want" <<'X'
ip daddr @csall_v4 tcp dport { 80, 1970 } counter packets 0 bytes 0 accept comment "csall"
ip6 daddr @csall_v6 tcp dport { 80, 1970 } counter packets 0 bytes 0 accept comment "csall"
ip daddr @stat_v4 udp dport 1970-1980 counter packets 0 bytes 0 accept comment "stat"
ip daddr @stat_v4 tcp dport 443 counter packets 0 bytes 0 accept comment "stat"
X
diff -u "$WORK/rules.want" "$WORK/rules" || fail "rules differ"
expect_eq "rule comments (json)" "$(nft -j list chain inet allowlistd allowlistd | jq -r '.nftables[] | select(.rule) | .rule.comment' | tr '\n' ' ')" \
        "csall csall stat stat "
expect_eq "chain is a regular chain" "$(nft -j list chain inet allowlistd allowlistd | jq -c '.nftables[] | select(.chain) | .chain.hook')" "null"

# a group that vanished loses its sets and rules; nothing else changes
S3=$(spec fewer <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=WiseMo csall.wisemo.com: "remote" control
elem csall 192.0.2.1 3600
allow csall tcp 80 1970
group stat families=v4 interval=1 comment=static prefixes
elem stat 10.0.0.0/8 -
allow stat tcp 443
X
)
out=$("$NFT_DRIVER" apply "$S2" "$S3")
expect_eq "apply results" "$(echo $out)" "committed committed"
S4=$(spec gone <<'X'
table inet allowlistd
chain allowlistd
group stat families=v4 interval=1 comment=static prefixes
elem stat 10.0.0.0/8 -
allow stat tcp 443
X
)
out=$("$NFT_DRIVER" apply "$S3" "$S4")
expect_eq "set names after a group vanished" \
        "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" "stat_v4 "
expect_eq "rules after a group vanished" "$(nft list chain inet allowlistd allowlistd | sed -n 's/^\t\t//p')" \
        'ip daddr @stat_v4 tcp dport 443 counter packets 0 bytes 0 accept comment "stat"'

# table families: ip gets only _v4 sets and rules without nfproto, ip6 only _v6
for fam in ip ip6; do
        S5=$(spec "fam-$fam" <<X
table $fam allowlistd
chain allowlistd
group both families=both interval=0 comment=x
elem both 192.0.2.1 60
elem both 2001:db8::1 60
allow both udp 53
X
)
        "$NFT_DRIVER" apply "$S5" >/dev/null
        want=both_v4; [ $fam = ip6 ] && want=both_v6
        expect_eq "$fam sets" "$(nft -j list sets $fam | jq -r '.nftables[] | select(.set) | .set.name' | tr '\n' ' ')" "$want "
done
expect_eq "ip rule" "$(nft list chain ip allowlistd allowlistd | sed -n 's/^\t\t//p')" \
        'ip daddr @both_v4 udp dport 53 counter packets 0 bytes 0 accept comment "both"'
expect_eq "ip6 rule" "$(nft list chain ip6 allowlistd allowlistd | sed -n 's/^\t\t//p')" \
        'ip6 daddr @both_v6 udp dport 53 counter packets 0 bytes 0 accept comment "both"'

# on_exit=remove: chain and sets go, and the table too since this process created it and it
# is empty then; a table that holds someone else's set stays.
nft flush ruleset
"$NFT_DRIVER" remove "$S" >/dev/null
expect_eq "removed all" "$(nft list ruleset)" ""
nft add table inet allowlistd
nft add set inet allowlistd theirs '{ type ipv4_addr; }'
"$NFT_DRIVER" remove "$S" >/dev/null
expect_eq "kept the operator's table and set" "$(nft -j list ruleset | jq -r '.nftables[] | select(.set or .chain) | (.set // .chain).name')" "theirs"
echo OK
