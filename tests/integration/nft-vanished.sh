#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A group disappears (reload) while the operator's own rule still uses its set: the apply still
# commits everything else; the busy set is flushed instead of deleted (allows nothing), reported
# once and forgotten; the unused sets of another vanished group are deleted; later applies
# neither retry nor report it again.
. "$(dirname "$0")/nft-lib.sh"

A=$(spec a <<'X'
table inet filter
chain allowlistd
group keep families=v4 interval=0 comment=keep
elem keep 192.0.2.1 3600
allow keep tcp 443
group used families=both interval=0 comment=used
elem used 198.51.100.1 3600
elem used 2001:db8::1 3600
allow used tcp 80
group unused families=v4 interval=1 comment=unused
elem unused 203.0.113.0/24 -
allow unused udp 53
X
)
B=$(spec b <<'X'
table inet filter
chain allowlistd
group keep families=v4 interval=0 comment=keep
elem keep 192.0.2.1 3600
elem keep 192.0.2.2 3600
allow keep tcp 443
X
)
C=$(spec c <<'X'
table inet filter
chain allowlistd
group keep families=v4 interval=0 comment=keep
elem keep 192.0.2.3 3600
allow keep tcp 443
X
)
# The operator's nftables.conf declares the daemon's set (empty) and uses it in its own chain,
# as the documented setup allows.
nft -f - <<'X'
table inet filter {
        set used_v4 {
                type ipv4_addr
                flags timeout
        }
        chain forward {
                type filter hook forward priority 0;
                ip saddr @used_v4 counter accept
        }
}
X
out=$("$NFT_DRIVER" apply "$A" "$B" "$B" "$C") || true
expect_eq "results" "$out" "committed
leftover: set inet filter used_v4: a rule outside the daemon's chain still uses it, so it was flushed instead of deleted and allows nothing now; the daemon no longer manages it: Device or resource busy
committed
unchanged
committed"
expect_eq "sets" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" \
        "keep_v4 used_v4 "
expect_eq "busy set flushed" "$(elements inet filter used_v4)" ""
expect_eq "new content committed" "$(elements inet filter keep_v4)" "192.0.2.3"
expect_eq "our rules" "$(nft list chain inet filter allowlistd | sed -n 's/^\t\t//p')" \
        'ip daddr @keep_v4 tcp dport 443 counter packets 0 bytes 0 accept comment "keep"'
expect_eq "operator's rule" "$(nft list chain inet filter forward | sed -n 's/^\t\t//p' | tail -n 1)" \
        'ip saddr @used_v4 counter packets 0 bytes 0 accept'

# A vanished group's set that someone else deleted meanwhile is simply gone: no error, no
# report, and the next apply does not trip over it either.
nft flush ruleset
out=$("$NFT_DRIVER" apply "$A" "run=nft flush chain inet filter allowlistd; nft delete set inet filter unused_v4" "$B" "$C") || true
expect_eq "results with the set gone" "$out" "committed
committed
committed"
expect_eq "sets with the set gone" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" \
        "keep_v4 "
# The same under the monitor, the busy set being empty: flushing it is no transaction at all
# (the generation does not move); that must not pass for someone else's change.
nft flush ruleset
nft -f - <<'X'
table inet filter {
        set used_v4 {
                type ipv4_addr
                flags timeout
        }
        chain forward {
                type filter hook forward priority 0;
                ip saddr @used_v4 counter accept
        }
}
X
E=$(spec e <<'X'
table inet filter
chain allowlistd
group keep families=v4 interval=0 comment=keep
elem keep 192.0.2.1 3600
allow keep tcp 443
group used families=both interval=0 comment=used
elem used 2001:db8::1 3600
allow used tcp 80
X
)
"$NFT_DRIVER" monitor "$E" 60 "$B" >"$WORK/out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for i in $(seq 100); do grep -q monitoring "$WORK/out" && break; sleep 0.1; done
grep -q monitoring "$WORK/out" || fail "driver did not start: $(cat "$WORK/out")"
kill -USR1 $pid
for i in $(seq 100); do grep -q reloaded "$WORK/out" && break; sleep 0.1; done
sleep 0.5
kill $pid
wait $pid || true
expect_eq "monitor output" "$(cat "$WORK/out")" "monitoring
leftover: set inet filter used_v4: a rule outside the daemon's chain still uses it, so it was flushed instead of deleted and allows nothing now; the daemon no longer manages it: Device or resource busy
reloaded: committed
restores: 0"
expect_eq "sets after the reload" "$(nft -j list sets inet | jq -r '.nftables[] | select(.set) | .set.name' | sort | tr '\n' ' ')" \
        "keep_v4 used_v4 "
echo OK
