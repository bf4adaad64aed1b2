#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Self-healing: `nft flush ruleset`, a deleted set, a flushed set and a flushed chain are put
# back within 1 s; the daemon's own applies and unrelated changes trigger nothing.
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
kill $pid
wait $pid || true
echo OK
