#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# metrics_file= against the real kernel and a real dnsmasq: the file passes promtool check
# metrics, appears with the first round, carries no label per address, and after a scripted
# sequence holds exact values: a host failing (its address about to lose access), a foreign
# flush put back, then (second run) that address expiring.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
command -v promtool >/dev/null || skip "needs promtool (Debian package prometheus)"

METRICS="$TEST_DIR/textfile/allowlistd.prom"
mkdir "$TEST_DIR/textfile"

# The samples of one metric name, "LABELS VALUE" a line, sorted ("-" for no labels).
metric() {
        awk -v n="$1" '$1 == n { print "- " $2 } index($1, n "{") == 1 { sub(/^[^{]*/, ""); print }' "$METRICS" | sort
}
value() {
        awk -v n="$1" '$1 == n { print $2 }' "$METRICS"
}
check_file() {
        promtool check metrics <"$METRICS" || fail "promtool check metrics: $1"
        echo "ok: promtool check metrics: $1"
        assert_eq "" "$(grep -E '"([0-9]+\.){3}[0-9]+"|"[0-9a-f]*:[0-9a-f:]*"' "$METRICS" || true)" "no label value is an address: $1"
        assert_eq "-rw-r--r--" "$(stat -c %A "$METRICS")" "readable by node_exporter: $1"
        assert_eq "allowlistd.prom" "$(ls "$TEST_DIR/textfile")" "no temporary file left: $1"
}

dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
metrics_file = $METRICS
refresh_min = 1s
retry_min = 1s
retry_max = 1s

[ga]
hosts = a.vendor.test n.vendor.test
addresses = 203.0.113.0/24
allow = tcp/443
validity = 2h
refresh = 1h

[gb]
hosts = b.vendor.test
family = ipv4
allow = tcp/443
validity = 20s
refresh = $1"
}

# ---- run 1: b's next refresh comes after DNS is gone
config 5s
daemon_start
test -e "$METRICS" || fail "no metrics file after the first round"
check_file "after the first round"
assert_eq "version=\"$("$ALLOWLISTD" --version | cut -d' ' -f2)\"} 1" "$(metric allowlistd_build_info | tr -d '{')" "build info"
assert_eq '{result="error"} 0
{result="nxdomain"} 1
{result="ok"} 2
{result="refused"} 0
{result="servfail"} 0
{result="timeout"} 0' "$(metric allowlistd_lookups_total)" "lookups after the first round"

dns_stop
nft flush set inet allowlistd ga_v4
_ga_back() { [[ "$(set_elements inet allowlistd ga_v4)" == $'192.0.2.1\n203.0.113.0/24' ]]; }
wait_until 5 _ga_back || fail "the flushed set was not put back"
# While running, a change reaches the file within the 5 s write interval.
wait_until 7 grep -qx 'allowlistd_nft_foreign_changes_total 1' "$METRICS" || fail "the repair did not reach the file within 5 s"
check_file "while running"
# The last tenth of b's 20 s validity: the warning, then the exit writes the file at once.
wait_until 30 grep -q 'b.vendor.test: DNS has failed for' "$DAEMON_LOG" || fail "no expiry warning for b"
daemon_stop
assert_eq 0 "$DAEMON_RC" "run 1 exits 0"
check_file "run 1, at exit"
fails="$(metric allowlistd_host_consecutive_failures | awk '/host="b.vendor.test"/ { print $2 }')"
(( fails >= 2 )) || fail "b failed only $fails times before its last tenth"
assert_eq "{result=\"error\"} 0
{result=\"nxdomain\"} 1
{result=\"ok\"} 2
{result=\"refused\"} $fails
{result=\"servfail\"} 0
{result=\"timeout\"} 0" "$(metric allowlistd_lookups_total)" "lookups after run 1: every failure is b's"
assert_eq "{group=\"ga\",host=\"a.vendor.test\"} 0
{group=\"ga\",host=\"n.vendor.test\"} 0
{group=\"gb\",host=\"b.vendor.test\"} $fails" "$(metric allowlistd_host_consecutive_failures)" "consecutive failures"
assert_eq '{group="ga"} 0
{group="gb"} 1' "$(metric allowlistd_addresses_expiring_while_failing)" "b's address is about to lose access"
assert_eq '{group="ga",family="ipv4"} 2
{group="ga",family="ipv6"} 1
{group="gb",family="ipv4"} 1
{group="gb",family="ipv6"} 0' "$(metric allowlistd_addresses)" "addresses per group and family"
assert_eq '{set="ga_v4",group="ga",family="ipv4"} 2
{set="ga_v6",group="ga",family="ipv6"} 1
{set="gb_v4",group="gb",family="ipv4"} 1' "$(metric allowlistd_set_elements)" "elements per set"
assert_eq "1" "$(value allowlistd_nft_foreign_changes_total)" "the foreign flush"
assert_eq "3" "$(value allowlistd_nft_transactions_total)" "transactions: start, first round, repair"
assert_eq "0" "$(value allowlistd_nft_transaction_errors_total)" "no transaction errors"
assert_eq "3" "$(value allowlistd_addresses_added_total)" "added addresses"
assert_eq "0" "$(value allowlistd_addresses_expired_total)" "nothing expired yet"
for m in replies_total replies_matched_total addresses_learned_total hold_seconds_count replies_released_on_bound_total; do
        assert_eq 0 "$(value allowlistd_snoop_$m)" "snooping off: allowlistd_snoop_$m"
done
assert_eq "0.000000" "$(value allowlistd_snoop_hold_seconds_sum)" "snooping off: hold time"

# ---- run 2: DNS is back without b (NXDOMAIN): b's address expires
dns_set b.vendor.test
dns_start
config 10s
t0=$(date +%s)
daemon_start
_gb_empty() { [[ -z "$(set_elements inet allowlistd gb_v4)" ]]; }
wait_until 10 _gb_empty || fail "b's address did not expire"
daemon_stop
t1=$(date +%s)
assert_eq 0 "$DAEMON_RC" "run 2 exits 0"
check_file "run 2, at exit"
assert_eq '{result="error"} 0
{result="nxdomain"} 2
{result="ok"} 1
{result="refused"} 0
{result="servfail"} 0
{result="timeout"} 0' "$(metric allowlistd_lookups_total)" "lookups of run 2 (counters start again)"
assert_eq "1" "$(value allowlistd_addresses_expired_total)" "b's address expired"
assert_eq '{group="ga"} 0
{group="gb"} 0' "$(metric allowlistd_addresses_expiring_while_failing)" "nothing about to lose access"
assert_eq '{set="ga_v4",group="ga",family="ipv4"} 2
{set="ga_v6",group="ga",family="ipv6"} 1
{set="gb_v4",group="gb",family="ipv4"} 0' "$(metric allowlistd_set_elements)" "elements per set after the expiry"
assert_eq '{group="ga",family="ipv4"} 2
{group="ga",family="ipv6"} 1
{group="gb",family="ipv4"} 0
{group="gb",family="ipv6"} 0' "$(metric allowlistd_addresses)" "addresses after the expiry"
assert_eq "0 0 0" "$(metric allowlistd_host_consecutive_failures | awk '{ print $2 }' | paste -sd' ')" "every host answers"
for h in a n b; do
        ts="$(metric allowlistd_host_last_success_timestamp_seconds | awk -v h="host=\"$h.vendor.test\"" 'index($0, h) { print int($2) }')"
        (( ts >= t0 && ts <= t1 )) || fail "last success of $h.vendor.test at $ts, not within $t0..$t1"
done
echo "ok: last success times within the run"
start="$(value allowlistd_start_timestamp_seconds | cut -d. -f1)"
(( start >= t0 && start <= t1 )) || fail "start time $start not within $t0..$t1"
assert_eq "0" "$(value allowlistd_nft_foreign_changes_total)" "no foreign change in run 2"
