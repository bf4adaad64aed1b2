#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped product profiles resolved for real: against dnsmasq carrying every host name of the
# resolvable profiles (documentation addresses), `allowlistd --once --dry-run` of each profile
# prints a script that names every group's sets and every resolved address, that `nft -c -f`
# accepts, and it creates nothing in the kernel.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

PRODUCT_DIR="$SRCDIR/conf/products"
RUNNABLE="wisemo-mycloud senso remotespark trispen-atheoffice"

# groups_of PRODUCT: the group names a profile defines.
groups_of() {
        sed -n 's/^\[\([a-z][a-z0-9_-]*\)\]$/\1/p' "$PRODUCT_DIR/$1.conf"
}

# hosts_of PRODUCT: the host names a profile lists (hosts = lines and their continuation lines).
hosts_of() {
        awk '/^hosts[ \t]*=/ { in_hosts = 1; sub(/^hosts[ \t]*=/, ""); print; next }
             /^[ \t]/ && in_hosts { print; next }
             { in_hosts = 0 }' "$PRODUCT_DIR/$1.conf" | tr -s ' \t' '\n' | sed '/^$/d'
}

# One documentation address of each family per host name, in the order the profiles list them.
i=0
: >"$TEST_DIR/addresses"
for product in $RUNNABLE; do
        for host in $(hosts_of "$product"); do
                i=$((i + 1))
                (( i <= 250 )) || fail "too many host names for 192.0.2.0/24"
                dns_set "$host" "192.0.2.$i" "2001:db8::$(printf %x $i)"
                printf '%s %s 192.0.2.%d 2001:db8::%x\n' "$product" "$host" "$i" "$i" >>"$TEST_DIR/addresses"
        done
done
(( i > 0 )) || fail "no host names found in the profiles"
dns_start

for product in $RUNNABLE; do
        daemon_config "[daemon]
products = $product
product_dir = $PRODUCT_DIR
state_file = $TEST_DIR/state
dns_servers = $DNS_SERVERS"
        rc=0
        "$ALLOWLISTD" --once --dry-run -c "$DAEMON_CONF" >"$TEST_DIR/$product.nft" 2>"$TEST_DIR/$product.log" || rc=$?
        assert_eq 0 "$rc" "--once --dry-run of $product exits 0 ($(tail -n 3 "$TEST_DIR/$product.log"))"
        for group in $(groups_of "$product"); do
                grep -q -w "${group}_v4" "$TEST_DIR/$product.nft" || fail "$product: no set ${group}_v4"
                grep -q -w "${group}_v6" "$TEST_DIR/$product.nft" || fail "$product: no set ${group}_v6"
        done
        while read -r p host v4 v6; do
                [[ "$p" == "$product" ]] || continue
                grep -q -w -F "$v4" "$TEST_DIR/$product.nft" || fail "$product: $host address $v4 missing"
                grep -q -w -F "$v6" "$TEST_DIR/$product.nft" || fail "$product: $host address $v6 missing"
        done <"$TEST_DIR/addresses"
        nft -c -f "$TEST_DIR/$product.nft" || fail "nft -c -f rejects the --dry-run script of $product"
        assert_eq "" "$(nft list tables)" "--dry-run of $product touches nothing"
        [[ ! -e "$TEST_DIR/state" ]] || fail "--dry-run of $product wrote the state file"
done
