#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Structured journal logging of the real daemon. The test plays journald: a datagram socket at
# /run/systemd/journal/socket (a private mount in the test's namespace) and JOURNAL_STREAM set to
# the DEV:INODE of the file that is the daemon's stderr, as systemd does. Then every kind of event
# must arrive as one native-protocol record with the exact fields: PRIORITY, MESSAGE_ID (the ids
# are read from src/log.h), ALLOWLIST_GROUP/HOST/ADDRESS where one applies and nothing else of
# ours where none does, SYSLOG_IDENTIFIER and MESSAGE. And nothing may reach stderr as a plain
# line while the journal is in use.
#
# Events, in order: addresses added; resolution failed (dnsmasq stopped); expiry warning and
# addresses expired (still stopped); resolution recovered (dnsmasq back); set restored (nft flush
# ruleset); configuration reloaded; reload rejected (with the FILE:LINE error); state restored
# (restart).
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

# ---- MESSAGE_IDs from the header, so the test follows it (and checks their shape)
declare -A ID
while read -r name id; do
        ID[$name]="$id"
done < <(sed -n 's/^#define MESSAGE_\([A-Z_]*\)[[:space:]]*"\([^"]*\)".*/\1 \2/p' "$SRCDIR/src/log.h")
for name in ADDRESSES_ADDED ADDRESSES_EXPIRED RESOLUTION_FAILED RESOLUTION_RECOVERED SET_RESTORED \
            CONFIG_RELOADED RELOAD_REJECTED STATE_RESTORED EXPIRY_WARNING; do
        [[ "${ID[$name]:-}" =~ ^[0-9a-f]{32}$ ]] || fail "src/log.h: MESSAGE_$name is '${ID[$name]:-}', not 32 hex digits"
done
assert_eq 9 "$(printf '%s\n' "${ID[@]}" | sort -u | wc -l)" "src/log.h: 9 distinct MESSAGE_IDs"
assert_eq ef11922abe9e4518a54731627038a6ea "${ID[ADDRESSES_ADDED]}" "MESSAGE_ID of 'addresses added' as released"

DNS_TTL=60
dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_start

# validity 20 s with retries every 1 s (+-10% jitter, +100 ms timer accuracy): the last 10% of
# the validity (2 s) always sees a failed retry, so the expiry warning comes for sure while DNS
# is down.
config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
retry_min = 1s
retry_max = 1s

[ga]
hosts = a.vendor.test
allow = tcp/443
validity = 20s
refresh = 1s
$1"
}
config ""

journal_listen
daemon_start

# Records of one MESSAGE_ID (or all with "*"), fields joined by " | ". libsystemd adds
# CODE_FILE/CODE_LINE/CODE_FUNC of the sd_journal_sendv call: they are not ours and are dropped.
records() {
        journal_records | sed -E 's/\tCODE_(FILE|LINE|FUNC)=[^\t]*//g; s/\t/ | /g' |
                if [[ "$1" == "*" ]]; then cat; else grep -F "MESSAGE_ID=$1 |"; fi || true
}
has_record() {
        [[ -n "$(records "$1")" ]]
}
# TIME: format_timestamp's "YYYY-MM-DD HH:MM:SS UTC" (or local zone).
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Z+0-9-]+'
host_fields="ALLOWLIST_GROUP=ga | ALLOWLIST_HOST=a\\.vendor\\.test"

# ---- addresses added: one record per address, with every field
added="$(records "${ID[ADDRESSES_ADDED]}")"
assert_eq 2 "$(grep -c . <<<"$added")" "addresses added: one record per address"
assert_match "^PRIORITY=6 \\| MESSAGE_ID=ef11922abe9e4518a54731627038a6ea \\| $host_fields \\| ALLOWLIST_ADDRESS=192\\.0\\.2\\.1 \\| MESSAGE=a\\.vendor\\.test: \\+192\\.0\\.2\\.1 \\(now 2 addresses, valid until $TIME\\) \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$(sed -n 1p <<<"$added")" "addresses added: 192.0.2.1, exact fields"
assert_match "^PRIORITY=6 \\| MESSAGE_ID=ef11922abe9e4518a54731627038a6ea \\| $host_fields \\| ALLOWLIST_ADDRESS=2001:db8::1 \\| MESSAGE=a\\.vendor\\.test: \\+2001:db8::1 \\(now 2 addresses, valid until $TIME\\) \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$(sed -n 2p <<<"$added")" "addresses added: 2001:db8::1, exact fields"

# ---- resolution failed: dnsmasq stopped
dns_stop
wait_until 5 has_record "${ID[RESOLUTION_FAILED]}" || fail "no 'resolution failed' record within 5 s of stopping DNS"
failed="$(records "${ID[RESOLUTION_FAILED]}")"
assert_match "^PRIORITY=4 \\| MESSAGE_ID=${ID[RESOLUTION_FAILED]} \\| $host_fields \\| MESSAGE=a\\.vendor\\.test: DNS lookup failed \\([^)]+\\); keeping its 2 addresses until each one's validity ends\\. \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$failed" "resolution failed: one record, exact fields (no ALLOWLIST_ADDRESS)"

# ---- expiry warning, then the addresses expire (DNS still down)
wait_until 25 has_record "${ID[EXPIRY_WARNING]}" || fail "no 'expiry warning' record within the validity"
assert_match "^PRIORITY=4 \\| MESSAGE_ID=${ID[EXPIRY_WARNING]} \\| $host_fields \\| MESSAGE=a\\.vendor\\.test: DNS has failed for [0-9][0-9a-z ]*; its addresses start leaving the allow-list at $TIME\\. \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$(records "${ID[EXPIRY_WARNING]}")" "expiry warning: one record, exact fields"
wait_until 5 bash -c '[[ "$(grep -c "^MESSAGE_ID=$0\$" "$1")" == 2 ]]' "${ID[ADDRESSES_EXPIRED]}" "$JOURNAL_LOG" ||
        fail "the two addresses did not expire"
expired="$(records "${ID[ADDRESSES_EXPIRED]}" | sort)"
assert_eq "PRIORITY=6 | MESSAGE_ID=${ID[ADDRESSES_EXPIRED]} | ALLOWLIST_GROUP=ga | ALLOWLIST_HOST=a.vendor.test | ALLOWLIST_ADDRESS=192.0.2.1 | MESSAGE=a.vendor.test: -192.0.2.1 (group ga: validity ran out without DNS returning it again) | SYSLOG_IDENTIFIER=allowlistd
PRIORITY=6 | MESSAGE_ID=${ID[ADDRESSES_EXPIRED]} | ALLOWLIST_GROUP=ga | ALLOWLIST_HOST=a.vendor.test | ALLOWLIST_ADDRESS=2001:db8::1 | MESSAGE=a.vendor.test: -2001:db8::1 (group ga: validity ran out without DNS returning it again) | SYSLOG_IDENTIFIER=allowlistd" \
        "$expired" "addresses expired: one record per address, exact fields"
wait_until 2 bash -c '[[ -z "$(nft list set inet allowlistd ga_v4 | grep 192.0.2.1)" ]]' || fail "expired address still in the set"
assert_eq 1 "$(records "${ID[RESOLUTION_FAILED]}" | grep -c .)" "resolution failed: logged once per run of failures"
assert_eq 1 "$(records "${ID[EXPIRY_WARNING]}" | grep -c .)" "expiry warning: logged once per run of failures"

# ---- resolution recovered: dnsmasq back, with a new address
dns_set a.vendor.test 192.0.2.9
dns_start
wait_until 5 has_record "${ID[RESOLUTION_RECOVERED]}" || fail "no 'resolution recovered' record within 5 s"
assert_match "^PRIORITY=6 \\| MESSAGE_ID=${ID[RESOLUTION_RECOVERED]} \\| $host_fields \\| MESSAGE=a\\.vendor\\.test: DNS answers again after [0-9]+ failures over [0-9][0-9a-z ]*\\. \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$(records "${ID[RESOLUTION_RECOVERED]}")" "resolution recovered: one record, exact fields"
wait_until 2 bash -c '[[ "$(grep -c "^ALLOWLIST_ADDRESS=192.0.2.9\$" "$0")" == 1 ]]' "$JOURNAL_LOG" || fail "new address not logged"
assert_match "^PRIORITY=6 \\| MESSAGE_ID=${ID[ADDRESSES_ADDED]} \\| $host_fields \\| ALLOWLIST_ADDRESS=192\\.0\\.2\\.9 \\| MESSAGE=a\\.vendor\\.test: \\+192\\.0\\.2\\.9 \\(now 1 address, valid until $TIME\\) \\| SYSLOG_IDENTIFIER=allowlistd$" \
        "$(records "${ID[ADDRESSES_ADDED]}" | grep -F 192.0.2.9)" "addresses added after recovery"

# ---- set restored after someone else flushes the ruleset
nft flush ruleset
wait_until 2 has_record "${ID[SET_RESTORED]}" || fail "no 'set restored' record within 2 s of nft flush ruleset"
assert_eq "PRIORITY=4 | MESSAGE_ID=${ID[SET_RESTORED]} | MESSAGE=Another program changed or removed allowlistd's nftables objects in table allowlistd; putting them back. | SYSLOG_IDENTIFIER=allowlistd" \
        "$(records "${ID[SET_RESTORED]}")" "set restored: one record, exact fields (no group, host or address)"
wait_until 2 bash -c '[[ "$(nft list set inet allowlistd ga_v4 2>/dev/null)" == *192.0.2.9* ]]' || fail "set not put back"

# ---- configuration reloaded
config "
[gb]
addresses = 198.51.100.0/24
allow = udp/3478"
kill -HUP "$DAEMON_PID"
wait_until 5 has_record "${ID[CONFIG_RELOADED]}" || fail "no 'configuration reloaded' record"
assert_eq "PRIORITY=6 | MESSAGE_ID=${ID[CONFIG_RELOADED]} | MESSAGE=Reloaded $DAEMON_CONF: 2 groups. | SYSLOG_IDENTIFIER=allowlistd" \
        "$(records "${ID[CONFIG_RELOADED]}")" "configuration reloaded: one record, exact fields"

# ---- reload rejected: the FILE:LINE error first, then the event
cp "$DAEMON_CONF" "$TEST_DIR/good.conf"
printf '[ga]\nhosts = a.vendor.test\nallow = tcp/0\n' >"$DAEMON_CONF"
kill -HUP "$DAEMON_PID"
wait_until 5 has_record "${ID[RELOAD_REJECTED]}" || fail "no 'reload rejected' record"
assert_eq "PRIORITY=3 | MESSAGE_ID=${ID[RELOAD_REJECTED]} | MESSAGE=Rejected the new configuration in $DAEMON_CONF (Invalid argument); still running on the previous one, unchanged. | SYSLOG_IDENTIFIER=allowlistd" \
        "$(records "${ID[RELOAD_REJECTED]}")" "reload rejected: one record, exact fields"
assert_eq "PRIORITY=3 | MESSAGE=$DAEMON_CONF:3: port out of range in 'tcp/0'; ports are 1 to 65535 | SYSLOG_IDENTIFIER=allowlistd" \
        "$(records "*" | grep -F "MESSAGE=$DAEMON_CONF:")" "reload rejected: the FILE:LINE error as its own record, no MESSAGE_ID"
# The error comes before the event, and nothing between them.
assert_eq "$DAEMON_CONF:3: port out of range in 'tcp/0'; ports are 1 to 65535
Rejected the new configuration in $DAEMON_CONF (Invalid argument); still running on the previous one, unchanged." \
        "$(grep '^MESSAGE=' "$JOURNAL_LOG" | tail -n 2 | sed 's/^MESSAGE=//')" "reload rejected: error, then event"
cp "$TEST_DIR/good.conf" "$DAEMON_CONF"

# ---- state restored on the next start
daemon_stop TERM
assert_eq 0 "$DAEMON_RC" "SIGTERM exits 0"
assert_eq "" "$(records "${ID[STATE_RESTORED]}")" "no 'state restored' record before a state file existed"
daemon_start
assert_eq "PRIORITY=6 | MESSAGE_ID=${ID[STATE_RESTORED]} | MESSAGE=Restored 1 address from $TEST_DIR/state (0 expired, no longer configured or no longer allowed). | SYSLOG_IDENTIFIER=allowlistd" \
        "$(records "${ID[STATE_RESTORED]}")" "state restored: one record, exact fields"
daemon_stop TERM

# ---- every record: a known MESSAGE_ID or none, our fields only, SYSLOG_IDENTIFIER=allowlistd
all="$(records "*")"
assert_eq "" "$(grep -v ' | SYSLOG_IDENTIFIER=allowlistd$' <<<"$all" || true)" "every record ends with SYSLOG_IDENTIFIER=allowlistd"
assert_eq "" "$(tr '|' '\n' <<<"$all" | sed -E 's/^ +//; s/=.*//' | sort -u |
                grep -vxE 'PRIORITY|MESSAGE_ID|ALLOWLIST_GROUP|ALLOWLIST_HOST|ALLOWLIST_ADDRESS|MESSAGE|SYSLOG_IDENTIFIER' || true)" \
        "no field names but ours and SYSLOG_IDENTIFIER"
known="$(printf '%s\n' "${ID[@]}")"
assert_eq "" "$(grep -o 'MESSAGE_ID=[0-9a-f]*' <<<"$all" | sed 's/.*=//' | grep -vxF "$known" || true)" "every MESSAGE_ID is one of src/log.h"

# ---- and nothing went to stderr while the journal was in use
assert_eq "" "$(cat "$DAEMON_LOG")" "nothing on stderr while logging to the journal"

# ---- without a matching JOURNAL_STREAM (another file's inode): plain lines on stderr, nothing
# in the journal
: >"$JOURNAL_LOG"
: >"$DAEMON_LOG"
JOURNAL_STREAM="$(stat -c '%d:%i' "$DAEMON_CONF")"
daemon_start
daemon_stop TERM
assert_eq "" "$(cat "$JOURNAL_LOG")" "JOURNAL_STREAM of another file: nothing sent to the journal"
assert_match "^info: Restored 1 address from $TEST_DIR/state \\(0 expired, no longer configured or no longer allowed\\)\\." \
        "$(cat "$DAEMON_LOG")" "JOURNAL_STREAM of another file: plain lines on stderr"
