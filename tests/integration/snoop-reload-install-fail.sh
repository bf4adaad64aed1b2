#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A reload that moves the queue (3 -> 4) is accepted, but the kernel refuses the snooping
# chains' transactions (strace makes the daemon's nftables sends fail with ENOMEM for a moment).
# Snooping must not stop for good: after retry_min the chains are put back, sending to queue 4,
# and a new matching answer is learned before it reaches the client. (The listener used to be
# dropped, and domains= stayed unenforced until the next reload.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/snoop-lib.sh"
require_root_netns "$@"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's daemon would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

cat >"$TEST_DIR/outside.hosts" <<'HOSTS'
198.51.100.10 a1.senso.cloud
198.51.100.11 b1.senso.cloud
HOSTS
snoop_topology
config_with() { # QUEUE
        snoop_config "snoop_queue = $1
retry_min = 2s" "[senso]
domains = senso.cloud
allow = tcp/443"
}
config_with 3
daemon_start
assert_eq "198.51.100.10 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 a1.senso.cloud 443)" "learning on queue 3"

# From the reload on, every nftables batch fails, also on the socket the snooping chains open
# for themselves (--all: sd_notify()'s sendmsg() fails too; nothing here reads it).
trace_daemon_batches --all error=ENOMEM

config_with 4
kill -HUP "$DAEMON_PID"
wait_until 10 grep -q 'Reloaded\|Rejected' "$DAEMON_LOG" || fail "no reload verdict"
grep -q 'Reloaded' "$DAEMON_LOG" || fail "the reload was rejected: $(tail -n 3 "$DAEMON_LOG")"
grep -q 'DNS snooping chains' "$DAEMON_LOG" || fail "no failure of the snooping chains was logged: $(tail -n 5 "$DAEMON_LOG")"
echo "ok: the reload was accepted and the snooping chains failed"
untrace_daemon
wait_until 5 bash -c "! grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$DAEMON_PID/status" || fail "strace did not detach"

# After retry_min (2 s) the forced repair puts the chains back.
wait_until 10 bash -c "nft list chain inet filter snoop_forward 2>/dev/null | grep -q 'queue num 4' &&
                       nft list chain inet filter snoop_output 2>/dev/null | grep -q 'queue num 4'" ||
        fail "the snooping chains were not put back on queue 4: $(nft list table inet filter 2>&1 | grep -A3 snoop_)"
echo "ok: the snooping chains send to queue 4 again"
assert_eq "198.51.100.11 connected" "$(in_client "$SNOOP_CLIENT" 192.0.2.53 b1.senso.cloud 443)" "learning on queue 4"
assert_eq $'198.51.100.10\n198.51.100.11' "$(set_elements inet filter senso_v4)" "the set holds both learned addresses"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
