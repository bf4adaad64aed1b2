#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Self-healing: `nft flush ruleset`, a deleted set, a flushed set, a flushed chain, a rule or an
# element someone else adds to ours, and a reload of nftables.conf that declares our objects empty
# are put back within 1 s; the daemon's own applies, unrelated changes and an operator's file that
# only declares our chain (for its `jump`) trigger nothing.
. "$(dirname "$0")/nft-lib.sh"

S=$(spec s <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=csall
elem csall 192.0.2.1 3600
elem csall 2001:db8::1 3600
allow csall tcp 80 1970
group plain families=v4 interval=1 comment=no rules
elem plain 198.51.100.0/24 -
X
)
"$NFT_DRIVER" monitor "$S" 60 >"$WORK/out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for i in $(seq 100); do grep -q monitoring "$WORK/out" && break; sleep 0.1; done
grep -q monitoring "$WORK/out" || fail "driver did not start: $(cat "$WORK/out")"

restores() { grep -c '^restored after a foreign change: ok' "$WORK/out" || true; }
# wait_restored N: the Nth restore and the full content back within 1 s
wait_restored() {
        for i in $(seq 20); do
                if [ "$(restores)" -ge "$1" ] && [ "$(elements inet allowlistd csall_v4 2>/dev/null)" = 192.0.2.1 ] &&
                   [ "$(elements inet allowlistd plain_v4 2>/dev/null)" = 198.51.100.0/24 ] &&
                   [ "$(nft list chain inet allowlistd allowlistd 2>/dev/null | grep -c accept)" = 2 ]; then
                        return 0
                fi
                sleep 0.05
        done
        fail "not restored within 1 s after $2 (restores: $(restores)); driver said: $(cat "$WORK/out")"
}

sleep 0.3
expect_eq "our own applies are not foreign" "$(restores)" "0"
nft add table inet unrelated
nft add set inet unrelated s '{ type ipv4_addr; }'
nft delete table inet unrelated
sleep 0.3
expect_eq "unrelated changes are ignored" "$(restores)" "0"

nft flush ruleset
wait_restored 1 "nft flush ruleset"
nft delete set inet allowlistd plain_v4
wait_restored 2 "nft delete set"
nft flush set inet allowlistd csall_v4
wait_restored 3 "nft flush set"
nft flush chain inet allowlistd allowlistd
wait_restored 4 "nft flush chain"
nft delete element inet allowlistd csall_v6 '{ 2001:db8::1 }'
wait_restored 5 "nft delete element"
expect_eq "v6 element back" "$(elements inet allowlistd csall_v6)" "2001:db8::1"
sleep 0.3
expect_eq "one restore per foreign transaction" "$(restores)" "5"

# The chain and the sets are ours: what someone else adds there is undone too.
nft add rule inet allowlistd allowlistd tcp dport 22 accept
wait_restored 6 "a rule added to our chain"
expect_eq "only our rules" "$(nft list chain inet allowlistd allowlistd | grep -c 'dport 22')" "0"
nft add element inet allowlistd csall_v4 '{ 192.0.2.99 }'
wait_restored 7 "an element added to our set"

# An operator's file declaring our chain empty next to its own `jump allowlistd` (loaded with
# `nft -f` while the daemon runs, no flush) changes nothing of ours: nothing to restore.
nft -f - <<'Y'
table inet allowlistd {
        chain allowlistd {
        }
        chain opchain {
                type filter hook forward priority 0;
                jump allowlistd
        }
}
Y
sleep 0.3
expect_eq "declaring our chain is not a change" "$(restores)" "7"
expect_eq "our rules kept" "$(nft list chain inet allowlistd allowlistd | grep -c accept)" "2"

# `systemctl reload nftables`: flush ruleset and a file that declares our chain and sets empty,
# jumps to the chain and uses a set, all in one transaction: our full content comes back.
nft -f - <<'Y'
flush ruleset
table inet allowlistd {
        set csall_v4 {
                type ipv4_addr
                flags timeout
        }
        set csall_v6 {
                type ipv6_addr
                flags timeout
        }
        set plain_v4 {
                type ipv4_addr
                flags interval,timeout
        }
        chain allowlistd {
        }
        chain opchain {
                type filter hook forward priority 0;
                jump allowlistd
                ip saddr @csall_v4 counter accept
        }
}
Y
wait_restored 8 "a reload of nftables.conf"
expect_eq "v6 back after the reload" "$(elements inet allowlistd csall_v6)" "2001:db8::1"
expect_eq "operator's chain after the reload" "$(nft list chain inet allowlistd opchain | sed -n 's/^\t\t//p' | tail -n 2)" \
        'jump allowlistd
ip saddr @csall_v4 counter packets 0 bytes 0 accept'
sleep 0.3
expect_eq "one restore per foreign transaction at the end" "$(restores)" "8"
kill $pid
wait $pid || true
echo OK
