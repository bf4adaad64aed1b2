#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Service-grade behaviour of the real daemon: the notify protocol (READY, STATUS, RELOADING,
# WATCHDOG), SIGHUP reloads (group added, group removed, broken file kept out), self-healing after
# someone else flushes its objects, a transaction the kernel refuses (logged once, retried), SIGTERM saving state, a restart with DNS down restoring the sets
# from the state file with their remaining time, and corrupt state files set aside.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

DNS_TTL=60
dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2
dns_set c.vendor.test 203.0.113.3
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
retry_min = 1s
retry_max = 2s
$1"
}
groups_ab="
[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 60s

[gb]
hosts = b.vendor.test
addresses = 192.0.2.128/25
allow = udp/3478 udp/49152-65535
validity = 60s
"
config "$groups_ab"
WATCHDOG_USEC=1000000 daemon_start

# ---- notify protocol
assert_match '^STATUS=2 groups, 2 hosts, 4 addresses; all hosts answering; next refresh in [0-9]+s$' \
        "$(grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1)" "STATUS= after the first round"
wait_until 3 grep -qx 'WATCHDOG=1' "$NOTIFY_LOG" || fail "no WATCHDOG=1 with WATCHDOG_USEC=1s"
echo "ok: WATCHDOG=1 pings"
assert_eq $'192.0.2.128/25\n198.51.100.2' "$(set_elements inet allowlistd gb_v4)" "static prefix and DNS address in one interval set"

# ---- self-healing: someone else flushes a set, the chain, the whole ruleset
nft flush set inet allowlistd ga_v4
wait_until 1 bash -c '[[ "$(nft list set inet allowlistd ga_v4)" == *192.0.2.1* ]]' || fail "flushed set not restored within 1 s"
echo "ok: flushed set restored within 1 s"
rules_before="$(nft list chain inet allowlistd allowlistd)"
nft flush chain inet allowlistd allowlistd
wait_until 1 bash -c '[[ "$(nft list chain inet allowlistd allowlistd)" == "$0" ]]' "$rules_before" ||
        fail "flushed chain not restored within 1 s"
echo "ok: flushed chain restored within 1 s"
nft flush ruleset
wait_until 1 bash -c '[[ "$(nft list set inet allowlistd gb_v4 2>/dev/null)" == *198.51.100.2* ]]' ||
        fail "objects not restored within 1 s of nft flush ruleset"
assert_eq "$rules_before" "$(nft list chain inet allowlistd allowlistd)" "rules back after nft flush ruleset"
assert_eq 3 "$(grep -c 'putting them back' "$DAEMON_LOG")" "each foreign change logged once"
sleep 1
assert_eq 3 "$(grep -c 'putting them back' "$DAEMON_LOG")" "the daemon's own repairs do not trigger another"

# ---- SIGHUP: a group added, a group removed
: >"$NOTIFY_LOG"
config "$groups_ab
[gc]
hosts = c.vendor.test
allow = tcp/9555
validity = 60s"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ "$(nft list set inet allowlistd gc_v4 2>/dev/null)" == *203.0.113.3* ]]' || fail "added group not applied"
assert_eq $'RELOADING=1\nREADY=1' "$(grep -E '^(RELOADING|READY)=' "$NOTIFY_LOG")" "RELOADING=1 then READY=1"
grep -q '^MONOTONIC_USEC=' "$NOTIFY_LOG" || fail "RELOADING=1 without MONOTONIC_USEC="
assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "unchanged group kept through reload"
# While running, a change reaches the state file within its 5 s write interval.
wait_until 7 grep -q '^address gc c.vendor.test 203.0.113.3 ' "$TEST_DIR/state" || fail "state file not written within 5 s of a change"
echo "ok: state file written within 5 s of a change"

config "
[gc]
hosts = c.vendor.test
allow = tcp/9555
validity = 60s"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '! nft list set inet allowlistd ga_v4 >/dev/null 2>&1' || fail "removed group's set still there"
assert_eq "gc_v4 gc_v6" "$(nft -j list table inet allowlistd | jq -r '[.nftables[] | select(.set) | .set.name] | sort | join(" ")')" \
        "only the remaining group's sets"
assert_eq "" "$(nft list chain inet allowlistd allowlistd | grep -E 'ga_|gb_' || true)" "removed groups' rules gone"

# ---- SIGHUP with a broken file: rejected, nothing changes
cp "$DAEMON_CONF" "$TEST_DIR/good.conf"
printf '[gc]\nhosts = c.vendor.test\nallow = tcp/0\n' >"$DAEMON_CONF"
kill -HUP "$DAEMON_PID"
wait_until 5 grep -q 'Rejected the new configuration' "$DAEMON_LOG" || fail "broken reload not rejected"
grep -q "allowlistd.conf:3: port out of range in 'tcp/0'" "$DAEMON_LOG" || fail "reload error without FILE:LINE"
kill -0 "$DAEMON_PID" || fail "daemon died on a broken reload"
assert_eq "203.0.113.3" "$(set_elements inet allowlistd gc_v4)" "allow-list unchanged after a rejected reload"
cp "$TEST_DIR/good.conf" "$DAEMON_CONF"

# ---- a transaction the kernel refuses: reported once, naming the object, retried
: >"$DAEMON_LOG"
nft -f - <<'NFT'
delete table inet allowlistd
table inet allowlistd {
        set gc_v4 {
                type ipv6_addr
        }
        chain operator {
                ip6 daddr @gc_v4 accept
        }
}
NFT
wait_until 3 grep -q 'Failed to apply nftables transaction' "$DAEMON_LOG" || fail "refused transaction not reported"
sleep 2.5 # retry_min is 1 s: two more attempts at least
assert_eq 1 "$(grep -c 'Failed to apply nftables transaction' "$DAEMON_LOG")" "a refused transaction is logged once"
grep -q 'set inet allowlistd gc_v4: exists with type ipv6_addr, expected ipv4_addr): File exists' "$DAEMON_LOG" || fail "the error does not name the set and why: $(cat "$DAEMON_LOG")"
nft delete chain inet allowlistd operator
nft delete set inet allowlistd gc_v4
wait_until 2 bash -c '[[ "$(nft list set inet allowlistd gc_v4 2>/dev/null)" == *203.0.113.3* ]]' ||
        fail "not repaired once the operator removed the wrong set"
grep -q 'applied again after earlier failures' "$DAEMON_LOG" || fail "recovery of the transaction not logged"

# ---- SIGTERM saves state and exits 0; the kernel keeps the sets (on_exit = keep)
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "SIGTERM exits 0"
grep -q '^STOPPING=1' "$NOTIFY_LOG" || fail "no STOPPING=1"
[[ -s "$TEST_DIR/state" ]] || fail "no state file"
assert_eq "203.0.113.3" "$(set_elements inet allowlistd gc_v4)" "sets stay after exit"

# ---- restart with DNS down: the sets come back from the state file with their remaining time
nft delete table inet allowlistd
dns_stop
sleep 2
daemon_start
assert_eq "203.0.113.3" "$(set_elements inet allowlistd gc_v4)" "restored from the state file with DNS down"
timeout="$(set_timeouts inet allowlistd gc_v4 | awk '{ print $2 }')"
(( timeout > 0 && timeout <= 58 )) || fail "restored timeout is $timeout s, expected the remaining time (<= 58 s), not a fresh 60 s"
echo "ok: restored timeout ${timeout}s is the remaining time"
grep -q 'Restored 1 address' "$DAEMON_LOG" || fail "restore not logged"
daemon_stop

# ---- corrupt state files are set aside; the daemon starts empty
for kind in garbage truncated version; do
        case $kind in
        garbage) head -c 300 /dev/urandom >"$TEST_DIR/state" ;;
        truncated) cp "$TEST_DIR/state" "$TEST_DIR/state.good"; head -c "$(( $(stat -c %s "$TEST_DIR/state.good") / 2 ))" "$TEST_DIR/state.good" >"$TEST_DIR/state" ;;
        version) sed '1s/.*/allowlistd-state 99/' "$TEST_DIR/state.good" >"$TEST_DIR/state" ;;
        esac
        rm -f "$TEST_DIR"/state.bad-*
        nft delete table inet allowlistd
        : >"$DAEMON_LOG"
        daemon_start
        ls "$TEST_DIR"/state.bad-* >/dev/null 2>&1 || fail "$kind state file not set aside"
        grep -q 'is corrupt, truncated or of another version' "$DAEMON_LOG" || fail "$kind state file not reported"
        assert_eq "" "$(set_elements inet allowlistd gc_v4)" "$kind state file: started empty (DNS is down)"
        daemon_stop
        assert_eq 0 "$DAEMON_RC" "$kind state file: clean exit"
done
