#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The configuration README.md shows must be one allowlistd accepts as it stands (a '#' after a
# value once made it fail). Needs no root. (allowlistd.conf(5)'s example is checked by test-config.)
set -euo pipefail
: "${ALLOWLISTD:?}" "${SRCDIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The first ```ini block of the README, with the product directory of this source tree.
awk '/^```ini$/ { on = 1; next } /^```$/ && on { exit } on' "$SRCDIR/README.md" >"$tmp/readme.conf"
[[ -s "$tmp/readme.conf" ]] || { echo "FAIL: no \`\`\`ini block in README.md" >&2; exit 1; }
sed -i "s|^\[daemon\]\$|&\nproduct_dir = $SRCDIR/conf/products\nstate_file = $tmp/state|" "$tmp/readme.conf"

rc=0
out=$("$ALLOWLISTD" --check-config -c "$tmp/readme.conf" 2>&1) || rc=$?
if (( rc != 0 )); then
        printf 'FAIL: README.md configuration example rejected (exit %d):\n%s\n' "$rc" "$out" >&2
        exit 1
fi
# What it says it does: the operator's table and chain, and its own group.
grep -q 'table inet filter, chain allowlistd$' <<<"$out" || { echo "FAIL: table/chain not as the README says: $out" >&2; exit 1; }
grep -q '^office-vpn: 1 host, 0 static, allow udp/51820, validity 1d, refresh auto$' <<<"$out" ||
        { echo "FAIL: office-vpn group not as the README says: $out" >&2; exit 1; }
echo "ok: README.md's configuration example passes --check-config"
