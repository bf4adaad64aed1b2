#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real daemon started without CAP_NET_ADMIN (root with the capability dropped from its
# bounding set, and an ordinary user with no capabilities at all): it exits 1 with a message
# that says it needs CAP_NET_ADMIN, and creates nothing: no nftables object, no DNS query, no
# READY=1, the state file untouched.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"

dns_set a.vendor.test 192.0.2.1
dns_start

chmod 755 "$TEST_DIR"
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 60s"
chmod 644 "$DAEMON_CONF"
# A state file from an earlier, privileged run: it must come through untouched.
"$ALLOWLISTD" -c "$DAEMON_CONF" --once 2>/dev/null || fail "privileged --once failed"
nft flush ruleset
queries_before="$(dns_query_count a.vendor.test)"
state_before="$(stat -c '%s %Y %i' "$TEST_DIR/state") $(sha256sum <"$TEST_DIR/state")"

: >"$TEST_DIR/notify.log"
"$NOTIFY_LISTEN" "$TEST_DIR/notify.sock" "$TEST_DIR/notify.log" &
listener=$!
at_exit "kill $listener 2>/dev/null; wait $listener 2>/dev/null"
wait_until 5 test -S "$TEST_DIR/notify.sock" || fail "notify-listen did not start"
chmod 666 "$TEST_DIR/notify.sock"

# Every problem of a case is reported before the test fails (so one run shows them all).
PROBLEMS=0
soft() {
        ( "$@" ) || PROBLEMS=$(( PROBLEMS + 1 ))
}

EXTRA_ARGS=()
QUERIES_EXPECTED=0
check_refused() {
        local what="$1"; shift
        local rc=0 err
        NOTIFY_SOCKET="$TEST_DIR/notify.sock" timeout 30 "$@" "$ALLOWLISTD" -c "$DAEMON_CONF" "${EXTRA_ARGS[@]}" \
                >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
        err="$(cat "$TEST_DIR/err")"
        soft assert_eq 1 "$rc" "$what: exit code"
        soft assert_eq 1 "$(grep -c '^error: .*needs CAP_NET_ADMIN' <<<"$err")" \
                "$what: one error that says it needs CAP_NET_ADMIN"
        if [[ "$QUERIES_EXPECTED" == 0 ]]; then
                # It fails before doing anything, so nothing else is said (no "Restored N
                # addresses" for addresses that never reach the kernel).
                soft assert_eq 1 "$(grep -c . "$TEST_DIR/err")" "$what: one line on stderr"
                soft assert_eq "$queries_before" "$(dns_query_count a.vendor.test)" "$what: no DNS query sent"
        fi
        soft assert_eq "" "$(cat "$TEST_DIR/out")" "$what: nothing on stdout"
        soft assert_eq "" "$(nft list ruleset)" "$what: no nftables object created"
        soft assert_eq "" "$(cat "$TEST_DIR/notify.log")" "$what: no notify message (no READY=1)"
        soft assert_eq "$state_before" "$(stat -c '%s %Y %i' "$TEST_DIR/state") $(sha256sum <"$TEST_DIR/state")" \
                "$what: state file untouched"
        soft assert_eq "" "$(ls "$TEST_DIR" | grep '^state\.' || true)" "$what: state file not set aside"
}


# Root, every capability but CAP_NET_ADMIN.
check_refused "root without CAP_NET_ADMIN" setpriv --inh-caps=-all --bounding-set=-net_admin
# An ordinary user.
check_refused "nobody" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all
# --once too. It resolves before it applies, so it may have asked DNS and logged the answer:
# that is no harm.
EXTRA_ARGS=(--once)
QUERIES_EXPECTED=1
check_refused "--once, root without CAP_NET_ADMIN" setpriv --inh-caps=-all --bounding-set=-net_admin

(( PROBLEMS == 0 )) || fail "$PROBLEMS problem(s) above"
