#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Without CAP_NET_ADMIN: a clear error naming the cause, exit status 1, nothing changed.
. "$(dirname "$0")/nft-lib.sh"
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }

S=$(spec s <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=csall
elem csall 192.0.2.1 3600
allow csall tcp 80
X
)
set +e
out=$(setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$NFT_DRIVER" apply "$S"); rc=$?
set -e
expect_eq "exit status" "$rc" "1"
case "$out" in
"error: table inet allowlistd: needs CAP_NET_ADMIN"*"Operation not permitted") ;;
*) fail "unexpected output: $out" ;;
esac
expect_eq "nothing created" "$(nft list ruleset)" ""
echo OK
