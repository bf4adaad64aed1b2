#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `allowlistd --reload PID` (the unit's ExecReload=) returns only with the daemon's verdict:
# 0 once the new configuration is in force (its sets are in the kernel when it returns); 1 with
# FILE:LINE for a file that does not parse (the daemon is not even signalled); 1 naming the
# journal's message when the kernel refuses the new configuration's transaction. A plain
# SIGHUP still reloads.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set a.vendor.test 192.0.2.1
dns_start

base="[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state

[ga]
hosts = a.vendor.test
allow = tcp/443"
daemon_config "$base"
daemon_start

reload() {
        rc=0
        out=$("$ALLOWLISTD" -c "$DAEMON_CONF" --reload "$DAEMON_PID" 2>&1) || rc=$?
}

# ---- a good file: in force when the command returns
daemon_config "$base

[gb]
addresses = 203.0.113.0/24
allow = tcp/9000"
reload
assert_eq 0 "$rc" "a good file: exit status ($out)"
assert_match "reloaded .*in force" "$out" "a good file: what it says"
assert_eq "203.0.113.0/24" "$(set_elements inet allowlistd gb_v4)" "a good file: its set is there when the command returns"

# ---- a file that does not parse: FILE:LINE, and the daemon is not asked
daemon_config "$base
allow = tcp/99999"
log_lines=$(wc -l <"$DAEMON_LOG")
reload
assert_eq 1 "$rc" "an invalid file: exit status"
assert_match "$DAEMON_CONF:8: port out of range" "$out" "an invalid file: FILE:LINE in the output"
assert_match "Not reloading allowlistd" "$out" "an invalid file: says the daemon keeps the previous configuration"
assert_eq "$log_lines" "$(wc -l <"$DAEMON_LOG")" "an invalid file: the daemon was not signalled"
assert_eq "203.0.113.0/24" "$(set_elements inet allowlistd gb_v4)" "an invalid file: the previous configuration stays"

# ---- a file the kernel refuses: a set of the operator's, of another type, in the way
nft add set inet allowlistd gc_v4 '{ type ipv6_addr; }'
daemon_config "$base

[gc]
addresses = 198.51.100.0/24
allow = tcp/9555"
reload
assert_eq 1 "$rc" "a refused transaction: exit status ($out)"
assert_match "rejected the new configuration .*MESSAGE_ID=0857cacd5b9d44aea60840d08c107cb4" "$out" \
        "a refused transaction: points to the journal's message"
grep -q 'Rejected the new configuration .*set inet allowlistd gc_v4' "$DAEMON_LOG" ||
        fail "the daemon's rejection does not name the set: $(tail -n 3 "$DAEMON_LOG")"
assert_eq "203.0.113.0/24" "$(set_elements inet allowlistd gb_v4)" "a refused transaction: the previous configuration stays"
nft delete set inet allowlistd gc_v4

# ---- a plain SIGHUP still reloads (without an answer to anyone)
daemon_config "$base"
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '! nft list set inet allowlistd gb_v4 >/dev/null 2>&1' || fail "SIGHUP did not reload"

# ---- no such process
reload_pid=$DAEMON_PID
daemon_stop
rc=0
out=$("$ALLOWLISTD" -c "$DAEMON_CONF" --reload "$reload_pid" 2>&1) || rc=$?
assert_eq 1 "$rc" "no daemon: exit status"
assert_match "Failed to signal allowlistd" "$out" "no daemon: what it says"
echo OK
