#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped product profiles (conf/products) with the real daemon:
# 1. `allowlistd --check-config` accepts every profile alone and all resolvable ones together
#    (group names unique across files), lists senso's wildcard domains as not enforced, and
#    refuses WiLife, which names no hosts, with "no destinations" (exit 1). Needs no root.
# 2. As root in a private network namespace, against dnsmasq on 127.0.0.1:5353 carrying every
#    host name of the profiles (documentation addresses): `allowlistd --once --dry-run` of each
#    resolvable profile prints a script that names every group's sets and resolved addresses
#    and that `nft -c -f` accepts.
set -eu

: "${ALLOWLISTD:?}" "${SRCDIR:?}"
PRODUCT_DIR="$SRCDIR/conf/products"
RUNNABLE="wisemo-mycloud senso remotespark trispen-atheoffice"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# write_config FILE PRODUCT...: a main configuration enabling the products from the source tree.
write_config() {
        local file=$1
        shift
        {
                printf '[daemon]\n'
                printf 'products = %s\n' "$*"
                printf 'product_dir = %s\n' "$PRODUCT_DIR"
                printf 'state_file = %s/state\n' "$tmp"
                printf 'dns_servers = 127.0.0.1:5353\n'
        } >"$file"
}

# check_config PRODUCT...: runs --check-config; sets $out (stdout and stderr) and $rc.
check_config() {
        write_config "$tmp/allowlistd.conf" "$@"
        rc=0
        out=$("$ALLOWLISTD" --check-config -c "$tmp/allowlistd.conf" 2>&1) || rc=$?
}

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

## 1. --check-config

for product in $RUNNABLE; do
        check_config "$product"
        [ "$rc" -eq 0 ] || fail "--check-config of $product: exit $rc, expected 0: $out"
        [ -n "$(groups_of "$product")" ] || fail "$product defines no groups"
        echo "ok: --check-config $product"
done

check_config senso
for domain in senso.cloud service.signalr.net; do
        grep -q -F "$domain" <<<"$out" || fail "--check-config of senso does not list $domain: $out"
done
grep -q -i 'not enforced' <<<"$out" || fail "--check-config of senso does not say 'not enforced': $out"
echo "ok: senso's wildcard domains reported as not enforced"

check_config wilife
[ "$rc" -eq 1 ] || fail "--check-config of wilife: exit $rc, expected 1: $out"
grep -q -F 'no destinations: add the hosts your WiLife installation uses' <<<"$out" ||
        fail "--check-config of wilife does not say 'no destinations': $out"
echo "ok: --check-config wilife refused with 'no destinations'"

# shellcheck disable=SC2086 # word splitting intended
check_config $RUNNABLE
[ "$rc" -eq 0 ] || fail "--check-config of all resolvable products: exit $rc, expected 0: $out"
# shellcheck disable=SC2086
check_config $RUNNABLE wilife
[ "$rc" -eq 1 ] || fail "--check-config of all products: exit $rc, expected 1: $out"
grep -q -F 'no destinations' <<<"$out" || fail "--check-config of all products: no 'no destinations': $out"
echo "ok: --check-config of all products together"

## 2. --once --dry-run against a local zone, checked by the kernel (nft -c)

if [ "$(id -u)" -ne 0 ]; then
        echo "not root: skipping the --dry-run part"
        exit 77
fi
for tool in unshare nft dnsmasq; do
        command -v "$tool" >/dev/null || { echo "no $tool: skipping the --dry-run part"; exit 77; }
done

# One documentation address per host name, in the order the profiles list them.
i=0
: >"$tmp/zone"
: >"$tmp/addresses"
for product in $RUNNABLE; do
        for host in $(hosts_of "$product"); do
                i=$((i + 1))
                [ "$i" -le 250 ] || fail "too many host names for 192.0.2.0/24"
                printf 'address=/%s/192.0.2.%d\naddress=/%s/2001:db8::%x\n' "$host" "$i" "$host" "$i" >>"$tmp/zone"
                printf '%s %s 192.0.2.%d 2001:db8::%x\n' "$product" "$host" "$i" "$i" >>"$tmp/addresses"
        done
done
[ "$i" -gt 0 ] || fail "no host names found in the profiles"

export ALLOWLISTD PRODUCT_DIR RUNNABLE tmp
export -f fail write_config groups_of
# The namespace part runs in a child shell: single quotes on purpose, it expands its own variables.
rc=0
# shellcheck disable=SC2016
unshare -n bash -euc '
        ip link set lo up
        nft list tables >/dev/null 2>&1 || { echo "no nf_tables in the namespace: skipping"; exit 77; }

        dnsmasq --keep-in-foreground --conf-file="$tmp/zone" --no-resolv --no-hosts \
                --listen-address=127.0.0.1 --bind-interfaces --port=5353 \
                --pid-file="$tmp/dnsmasq.pid" --user=root 2>"$tmp/dnsmasq.log" &
        dnsmasq_pid=$!
        trap "kill $dnsmasq_pid 2>/dev/null; wait $dnsmasq_pid 2>/dev/null || true" EXIT
        for _ in $(seq 50); do
                [ -s "$tmp/dnsmasq.pid" ] && break
                sleep 0.1
        done
        [ -s "$tmp/dnsmasq.pid" ] || fail "dnsmasq did not start: $(cat "$tmp/dnsmasq.log")"

        for product in $RUNNABLE; do
                write_config "$tmp/$product.conf" "$product"
                rc=0
                "$ALLOWLISTD" --once --dry-run -c "$tmp/$product.conf" \
                        >"$tmp/$product.nft" 2>"$tmp/$product.log" || rc=$?
                [ "$rc" -eq 0 ] || fail "--once --dry-run of $product: exit $rc: $(cat "$tmp/$product.log")"
                for group in $(groups_of "$product"); do
                        grep -q -w "${group}_v4" "$tmp/$product.nft" || fail "$product: no set ${group}_v4"
                        grep -q -w "${group}_v6" "$tmp/$product.nft" || fail "$product: no set ${group}_v6"
                done
                while read -r p host v4 v6; do
                        [ "$p" = "$product" ] || continue
                        grep -q -w -F "$v4" "$tmp/$product.nft" || fail "$product: $host address $v4 missing"
                        grep -q -w -F "$v6" "$tmp/$product.nft" || fail "$product: $host address $v6 missing"
                done <"$tmp/addresses"
                nft -c -f "$tmp/$product.nft" || fail "nft -c -f rejects the --dry-run script of $product"
                # --dry-run touches nothing.
                [ -z "$(nft list tables)" ] || fail "--dry-run of $product created tables: $(nft list tables)"
                echo "ok: --once --dry-run $product accepted by nft -c"
        done
' || rc=$?
exit "$rc"
