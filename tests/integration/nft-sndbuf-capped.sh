#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# In a user namespace (CAP_NET_ADMIN over its own network namespace only), SO_SNDBUFFORCE is
# refused and the batch socket's send buffer stays capped by net.core.wmem_max: a batch larger
# than that cannot be sent (EMSGSIZE). The error says so and what to do, and nothing changes.
. "$(dirname "$0")/nft-lib.sh"
unshare -U -r -n true 2>/dev/null || skip "cannot create a user namespace (unshare -U -r -n)"

wmem_max="$(cat /proc/sys/net/core/wmem_max)"
# The kernel doubles the value it is given; an IPv6 element with its timeout and a comment of
# 100 bytes takes some 150 bytes of the batch.
count=$(( 2 * wmem_max / 120 + 1000 ))
(( count <= 400000 )) || skip "net.core.wmem_max is $wmem_max: a batch past its cap would take $count elements"
comment="$(printf 'c%.0s' $(seq 1 100))"
{
        printf 'table inet allowlistd\nchain -\ngroup big families=v6 interval=0 comment=big\n'
        awk -v n="$count" -v c="$comment" 'BEGIN { for (i = 0; i < n; i++) printf "elem big 2001:db8:%x::%x 3600 %s\n", int(i / 65536), i % 65536, c }'
} >"$WORK/big"

printf 'table inet allowlistd\nchain -\ngroup big families=v6 interval=0 comment=big\nelem big 2001:db8::1 3600\n' >"$WORK/small"

# The small apply, then the large one, in one process; then what the kernel kept.
set +e
out="$(unshare -U -r -n bash -c '"$0" apply "$1" "$2"; echo "rc=$?"; nft -j list set inet allowlistd big_v6 |
        jq -r "[.nftables[] | select(.set) | .set.elem // [] | .[] | .elem.val] | join(\" \")"' \
        "$NFT_DRIVER" "$WORK/small" "$WORK/big" 2>&1)"
set -e
re='^committed
error: table inet allowlistd: the batch \(([0-9]+) bytes\) is more than net\.core\.wmem_max allows without CAP_NET_ADMIN in the initial user namespace: raise it to ([0-9]+) or more, or allow fewer addresses: sending the batch: Message too long
rc=1
2001:db8::1$'
[[ "$out" =~ $re ]] || fail "unexpected output: $out"
size="${BASH_REMATCH[1]}" advice="${BASH_REMATCH[2]}"
echo "batch $size bytes, net.core.wmem_max $wmem_max, advice $advice"
# sendmsg() takes at most twice the buffer asked for (capped by wmem_max), less 32 bytes.
(( size > 2 * wmem_max - 32 )) || fail "a batch of $size bytes should have fitted"
(( 2 * advice - 32 >= size )) || fail "net.core.wmem_max = $advice would not let $size bytes through"
echo OK
