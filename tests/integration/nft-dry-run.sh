#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The --dry-run script: nft -c -f accepts it, writing it touches nothing, and loading it with
# nft -f gives the same ruleset as the netlink apply.
. "$(dirname "$0")/nft-lib.sh"

S=$(spec s <<'X'
table inet allowlistd
chain allowlistd
group csall families=both interval=0 comment=WiseMo "csall" hosts: csall.wisemo.com
elem csall 192.0.2.1 3600
elem csall 192.0.2.7 30
elem csall 2001:db8::1 600
allow csall tcp 80 1970
group stat families=v4 interval=1 comment=static
elem stat 10.0.0.0/8 -
elem stat 192.0.2.9 100
elem stat 255.255.255.0/24 -
range stat 198.51.100.0 200 100
allow stat udp 1970-1980
allow stat tcp 443 8000-8010
group empty families=both interval=0
X
)
"$NFT_DRIVER" script "$S" >"$WORK/script"
expect_eq "dry run touched nothing" "$(nft list ruleset)" ""
nft -c -f "$WORK/script" || fail "nft -c -f refused the script: $(cat "$WORK/script")"
expect_eq "still nothing" "$(nft list ruleset)" ""

# Same result either way (timeouts may differ by the second that passed; expiries always do).
normalize() {
        nft list ruleset | sed -e 's/ timeout [0-9hms]*//g' -e 's/ expires [0-9hms]*//g'
}
nft -f "$WORK/script"
normalize >"$WORK/via-nft"
nft flush ruleset
"$NFT_DRIVER" apply "$S" >/dev/null
normalize >"$WORK/via-netlink"
diff -u "$WORK/via-nft" "$WORK/via-netlink" || fail "the script and the netlink apply differ"

# Names that look like nft's words but are not keywords where a table or chain name goes: the
# configuration takes them, so the script must work with them.
for name in filter nat LOG counters dport log-table; do
        K=$(spec "k-$name" <<X
table inet $name
chain $name
group g families=v4 interval=0 comment=g hosts: a.example
elem g 192.0.2.1 3600
allow g tcp 443
X
)
        "$NFT_DRIVER" script "$K" >"$WORK/script-$name"
        nft -c -f "$WORK/script-$name" || fail "nft -c -f refused the script for table and chain $name: $(cat "$WORK/script-$name")"
done

# Keywords the configuration refuses (an nft script could not name them), with FILE:LINE.
for name in log counter set accept; do
        printf '[daemon]\ntable = inet %s\n\n[g]\nhosts = a.example\n' "$name" >"$WORK/kw.conf"
        out="$("$ALLOWLISTD" -c "$WORK/kw.conf" --check-config 2>&1)" && fail "table inet $name accepted"
        expect_eq "table inet $name" "$(grep -o "kw.conf:2: bad table 'inet $name': '$name' is a word of the nft language" <<<"$out")" \
                "kw.conf:2: bad table 'inet $name': '$name' is a word of the nft language"
done
echo OK
