#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `allowlistd --once` and its neighbours on the command line, against the real kernel and dnsmasq:
#   exit 0 when every name resolved: sets filled, state file written, --status and --status --json
#          show exactly those addresses;
#   exit 2 when a name failed (REFUSED: outside dnsmasq's local domain) while the others are applied;
#   exit 1 on a bad configuration, with FILE:LINE on stderr and nothing created;
#   --once --dry-run as nobody (no root, no capabilities): prints the script, touches nothing;
#   -h, -V, and option combinations that make no sense (exit 1 with a message, nothing run).
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

DNS_TTL=60
dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2 198.51.100.3
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
$1"
}
groups_ok="
[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 60s

[gb]
hosts = b.vendor.test
allow = udp/3478
validity = 120s"

run() {
        # run ARGS...: exit code in RC, stdout in OUT, stderr in ERR.
        RC=0
        "$ALLOWLISTD" "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || RC=$?
        OUT="$(cat "$TEST_DIR/out")"
        ERR="$(cat "$TEST_DIR/err")"
}

# ---- exit 0: everything resolved
config "$groups_ok"
run -c "$DAEMON_CONF" --once
assert_eq 0 "$RC" "--once with every name resolved exits 0"
assert_eq "" "$OUT" "--once prints nothing on stdout"
assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "ga_v4 filled in the kernel"
assert_eq "2001:db8::1" "$(set_elements inet allowlistd ga_v6)" "ga_v6 filled in the kernel"
assert_eq $'198.51.100.2\n198.51.100.3' "$(set_elements inet allowlistd gb_v4)" "gb_v4 filled in the kernel"
assert_eq "" "$(set_elements inet allowlistd gb_v6)" "gb_v6 empty"
# Each element carries the group's validity as its timeout (rounded up to whole seconds).
assert_eq $'192.0.2.1 60' "$(set_timeouts inet allowlistd ga_v4 | awk '{ print $1, $2 }')" "ga_v4 element timeout = validity"
assert_eq $'198.51.100.2 120\n198.51.100.3 120' "$(set_timeouts inet allowlistd gb_v4 | awk '{ print $1, $2 }')" \
        "gb_v4 element timeouts = validity"
assert_eq $'tcp dport 443 accept ga_v4\ntcp dport 443 accept ga_v6\nudp dport 3478 accept gb_v4\nudp dport 3478 accept gb_v6' \
        "$(nft -j list chain inet allowlistd allowlistd | jq -r '.nftables[] | select(.rule) | .rule.expr
                | "\(.[1].match.left.payload.protocol) \(.[1].match.left.payload.field) \(.[1].match.right) accept \(.[0].match.right | ltrimstr("@"))"')" \
        "rules in the chain"
[[ -s "$TEST_DIR/state" ]] || fail "--once wrote no state file"
assert_eq $'address ga a.vendor.test 192.0.2.1\naddress ga a.vendor.test 2001:db8::1\naddress gb b.vendor.test 198.51.100.2\naddress gb b.vendor.test 198.51.100.3' \
        "$(awk '$1 == "address" { print $1, $2, $3, $4 }' "$TEST_DIR/state" | sort)" "state file records every address"

run -c "$DAEMON_CONF" --status --json
assert_eq 0 "$RC" "--status --json exits 0"
json="$OUT"
assert_eq "1 true" "$(jq -r '"\(.version) \(.configuration)"' <<<"$json")" "--status --json: version and configuration"
assert_eq $'ga a.vendor.test 0 null 192.0.2.1,2001:db8::1\ngb b.vendor.test 0 null 198.51.100.2,198.51.100.3' \
        "$(jq -r '.groups[] | .name as $g | .hosts[] | "\($g) \(.name) \(.failures) \(.last_error) \([.addresses[].address] | join(","))"' <<<"$json")" \
        "--status --json: groups, hosts, failures, addresses"
# expiry - last_seen is the validity (to the millisecond: the two are converted from
# CLOCK_BOOTTIME one clock reading apart), and what is left of it is positive and at most that.
assert_eq $'60000 ok\n60000 ok\n120000 ok\n120000 ok' \
        "$(jq -r '.groups[].hosts[].addresses[] | "\((.expiry - .last_seen) / 1000 | round) \(if .expires_in_usec > 0 and .expires_in_usec <= .expiry - .last_seen then "ok" else .expires_in_usec end)"' <<<"$json")" \
        "--status --json: expiries are last seen + validity"
assert_eq "true true" "$(jq -r '[.groups[].hosts[] | (.last_success != null and .next_refresh > .last_success)] | map(tostring) | join(" ")' <<<"$json")" \
        "--status --json: last success and next refresh recorded"

run -c "$DAEMON_CONF" --status
assert_eq 0 "$RC" "--status exits 0"
# Time left is shown rounded down: a loaded machine may take a second or more between --once and
# --status, so 1m may already read 59s (or less); the units and the order are exact.
assert_match $'^ga a.vendor.test 192.0.2.1 (1m|5[0-9]s)\nga a.vendor.test 2001:db8::1 (1m|5[0-9]s)\ngb b.vendor.test 198.51.100.2 (2m|1m)\ngb b.vendor.test 198.51.100.3 (2m|1m)$' \
        "$(awk '/^GROUP/ { t = 1; next } t && NF >= 4 { print $1, $2, $3, $4 }' <<<"$OUT")" \
        "--status table: group, host, address, time left"

# ---- exit 2: one name fails (REFUSED: dnsmasq has no upstream for names outside .test), the
# others are applied
nft delete table inet allowlistd
rm -f "$TEST_DIR/state"
config "$groups_ok
hosts = outside.example.com"
run -c "$DAEMON_CONF" --once
assert_eq 2 "$RC" "--once with a failing name exits 2"
assert_match 'warning: outside\.example\.com: DNS lookup failed' "$ERR" "the failure is logged with the host"
assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "exit 2: ga_v4 still applied"
assert_eq $'198.51.100.2\n198.51.100.3' "$(set_elements inet allowlistd gb_v4)" "exit 2: the failing host's group still applied"
run -c "$DAEMON_CONF" --status --json
assert_eq $'b.vendor.test 0 198.51.100.2,198.51.100.3\noutside.example.com 1 ' \
        "$(jq -r '.groups[] | select(.name == "gb") | .hosts[] | "\(.name) \(.failures) \([.addresses[].address] | join(","))"' <<<"$OUT")" \
        "exit 2: state file records the failure"
assert_eq "true" "$(jq -r '.groups[] | select(.name == "gb") | .hosts[] | select(.name == "outside.example.com") | (.last_error | length > 0)' <<<"$OUT")" \
        "exit 2: the failing host has a last_error"

# ---- exit 1: bad configuration, FILE:LINE on stderr, nothing touched
nft delete table inet allowlistd
rm -f "$TEST_DIR/state"
config "
[ga]
hosts = a.vendor.test
allow = tcp/70000"
run -c "$DAEMON_CONF" --once
assert_eq 1 "$RC" "--once with a bad configuration exits 1"
assert_match "$DAEMON_CONF:7: " "$ERR" "bad configuration: FILE:LINE on stderr"
assert_match "70000" "$ERR" "bad configuration: the error names the bad value"
assert_eq "" "$(nft list ruleset)" "bad configuration: nothing created in the kernel"
[[ ! -e "$TEST_DIR/state" ]] || fail "bad configuration: a state file was written"
echo "ok: bad configuration: no state file"

run -c "$TEST_DIR/does-not-exist.conf" --once
assert_eq 1 "$RC" "--once with a missing configuration file exits 1"
assert_match "does-not-exist\.conf" "$ERR" "missing configuration: the file is named"

# ---- --once --dry-run without root: prints the script, touches nothing
config "$groups_ok"
DRY="$TEST_DIR/dry"
mkdir "$DRY"
chmod 755 "$TEST_DIR" "$DRY"
sed "s|^state_file = .*|state_file = $DRY/state|" "$DAEMON_CONF" >"$DRY/allowlistd.conf"
chmod 644 "$DRY/allowlistd.conf"
RC=0
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
        "$ALLOWLISTD" -c "$DRY/allowlistd.conf" --once --dry-run >"$TEST_DIR/out" 2>"$TEST_DIR/err" || RC=$?
[[ "$RC" == 0 ]] || cat "$TEST_DIR/err" >&2
assert_eq 0 "$RC" "--once --dry-run as nobody exits 0"
script="$(cat "$TEST_DIR/out")"
assert_eq "" "$(nft list ruleset)" "--dry-run created nothing in the kernel"
[[ ! -e "$DRY/state" ]] || fail "--dry-run wrote a state file"
echo "ok: --dry-run wrote no state file"
assert_eq '#!/usr/sbin/nft -f' "$(head -n 1 <<<"$script")" "--dry-run: script header"
assert_eq 'add table inet allowlistd
add set inet allowlistd ga_v4 { type ipv4_addr; flags timeout; comment "ga (a.vendor.test)"; }
add set inet allowlistd ga_v6 { type ipv6_addr; flags timeout; comment "ga (a.vendor.test)"; }
add set inet allowlistd gb_v4 { type ipv4_addr; flags timeout; comment "gb (b.vendor.test)"; }
add set inet allowlistd gb_v6 { type ipv6_addr; flags timeout; comment "gb (b.vendor.test)"; }
add chain inet allowlistd allowlistd
flush set inet allowlistd ga_v4
add element inet allowlistd ga_v4 { 192.0.2.1 timeout 60s comment "a.vendor.test" }
flush set inet allowlistd ga_v6
add element inet allowlistd ga_v6 { 2001:db8::1 timeout 60s comment "a.vendor.test" }
flush set inet allowlistd gb_v4
add element inet allowlistd gb_v4 { 198.51.100.2 timeout 120s comment "b.vendor.test", 198.51.100.3 timeout 120s comment "b.vendor.test" }
flush set inet allowlistd gb_v6
flush chain inet allowlistd allowlistd
add rule inet allowlistd allowlistd ip daddr @ga_v4 tcp dport 443 counter accept comment "ga"
add rule inet allowlistd allowlistd ip6 daddr @ga_v6 tcp dport 443 counter accept comment "ga"
add rule inet allowlistd allowlistd ip daddr @gb_v4 udp dport 3478 counter accept comment "gb"
add rule inet allowlistd allowlistd ip6 daddr @gb_v6 udp dport 3478 counter accept comment "gb"' \
        "$(grep -v '^#' <<<"$script")" "--dry-run: the exact script"
nft -c -f "$TEST_DIR/out" || fail "nft -c -f rejects the --dry-run script"
echo "ok: nft -c -f accepts the --dry-run script"

# Without --dry-run, the same unprivileged --once fails (it must not pretend).
RC=0
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
        "$ALLOWLISTD" -c "$DRY/allowlistd.conf" --once >"$TEST_DIR/out" 2>"$TEST_DIR/err" || RC=$?
assert_eq 1 "$RC" "--once as nobody (no CAP_NET_ADMIN) exits 1"
assert_match 'CAP_NET_ADMIN' "$(cat "$TEST_DIR/err")" "--once as nobody says it needs CAP_NET_ADMIN"

# ---- -h, -V
run -h
assert_eq 0 "$RC" "-h exits 0"
assert_eq "Usage: allowlistd [OPTIONS]" "$(head -n 1 <<<"$OUT")" "-h: usage line"
for opt in --config --check-config --once --dry-run --status --json --verbose --help --version; do
        grep -q -- "$opt" <<<"$OUT" || fail "-h does not mention $opt"
done
echo "ok: -h lists every option"
run --help
assert_eq 0 "$RC" "--help exits 0"
version="$(sed -n "s/^[[:space:]]*version : '\([^']*\)'.*/\1/p" "$SRCDIR/meson.build" | head -n 1)"
[[ -n "$version" ]] || fail "cannot read the version from meson.build"
run -V
assert_eq "0 allowlistd $version" "$RC $OUT" "-V prints the version and exits 0"
run --version
assert_eq "0 allowlistd $version" "$RC $OUT" "--version"

# ---- option combinations that make no sense: exit 1 with a message, nothing run
config "$groups_ok"
check_bad() {
        local expect="$1"; shift
        run "$@"
        assert_eq 1 "$RC" "allowlistd $* exits 1"
        assert_match "$expect" "$ERR" "allowlistd $*: message"
        assert_eq "" "$OUT" "allowlistd $*: nothing on stdout"
}
check_bad '--dry-run goes with --once' -c "$DAEMON_CONF" --dry-run
check_bad '--json goes with --status' -c "$DAEMON_CONF" --json
check_bad '--json goes with --status' -c "$DAEMON_CONF" --once --json
check_bad 'exclude each other' -c "$DAEMON_CONF" --once --status
check_bad 'exclude each other' -c "$DAEMON_CONF" --check-config --once
check_bad "Unexpected argument 'extra'" -c "$DAEMON_CONF" --once extra
check_bad "Try 'allowlistd --help'" --no-such-option
check_bad "Try 'allowlistd --help'" -c
assert_eq "" "$(nft list ruleset)" "bad option combinations touched nothing"
[[ ! -e "$TEST_DIR/state" ]] || fail "bad option combinations wrote a state file"
echo "ok: bad option combinations wrote no state file"
