#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped product profiles (conf/products) with the real daemon: `allowlistd --check-config`
# accepts every profile alone and all resolvable ones together (group names unique across files),
# lists senso's wildcard domains as not enforced, and refuses WiLife, which names no hosts, with
# "no destinations" (exit 1). Needs no root; products-dryrun.sh resolves them.
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
                [ -z "${SNOOP:-}" ] || printf 'snoop = %s\n' "$SNOOP"
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

SNOOP=yes check_config senso
[ "$rc" -eq 0 ] || fail "--check-config of senso with snoop = yes: exit $rc: $out"
grep -Pzq 'Enforced by DNS snooping \(queue 0\):\n  senso_https: \*\.senso\.cloud\n  senso_https: \*\.service\.signalr\.net\n' <<<"$out" ||
        fail "--check-config of senso with snoop = yes does not list its domains as snooped: $out"
! grep -q -i 'not enforced' <<<"$out" || fail "--check-config of senso with snoop = yes still says 'not enforced': $out"
echo "ok: with snoop = yes senso's wildcard domains are enforced"

check_config wilife
[ "$rc" -eq 1 ] || fail "--check-config of wilife: exit $rc, expected 1: $out"
grep -q -F 'no destinations: add the hosts your WiLife installation uses' <<<"$out" ||
        fail "--check-config of wilife does not say 'no destinations': $out"
echo "ok: --check-config wilife refused with 'no destinations'"

# The daemon itself refuses to start with it, before touching anything (no root needed to see it).
rc=0
out=$(timeout 10 "$ALLOWLISTD" -c "$tmp/allowlistd.conf" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "the daemon with wilife enabled: exit $rc, expected 1: $out"
grep -q -F 'no destinations: add the hosts your WiLife installation uses' <<<"$out" ||
        fail "the daemon with wilife enabled does not say 'no destinations': $out"
echo "ok: the daemon refuses to start with wilife until hosts are added"

# shellcheck disable=SC2086 # word splitting intended
check_config $RUNNABLE
[ "$rc" -eq 0 ] || fail "--check-config of all resolvable products: exit $rc, expected 0: $out"
# shellcheck disable=SC2086
check_config $RUNNABLE wilife
[ "$rc" -eq 1 ] || fail "--check-config of all products: exit $rc, expected 1: $out"
grep -q -F 'no destinations' <<<"$out" || fail "--check-config of all products: no 'no destinations': $out"
echo "ok: --check-config of all products together"
