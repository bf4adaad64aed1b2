#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real daemon with the state file's write, fsync or rename failing (strace injects ENOSPC,
# EIO, EINTR; the daemon logs to the journal, so every write() of its main thread is the state
# file's: strace without -f leaves alone the threads that send nftables transactions, whose
# write() tells the loop that the send returned). After each:
# the daemon is alive and its sets are intact; the state file is the old one or the new one,
# never torn, and no temporary file is left; the failure is logged once, saying what is on disk
# (the previous file, the new one when only the directory's fsync failed, or none), and the
# recovery once. The final save failing with no state file at all makes the exit status 1.
# A static-only configuration's STATUS= says so (no "next refresh in n/a").
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's daemon would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

dns_set a.vendor.test 192.0.2.1
dns_start
journal_listen

state=$TEST_DIR/var/state
mkdir "$TEST_DIR/var"
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $state

[ga]
hosts = a.vendor.test
allow = tcp/443"

# MESSAGE= of the records since the mark (a line count of JOURNAL_LOG).
messages_since() {
        tail -n +"$(($1 + 1))" "$JOURNAL_LOG" | sed -n 's/^MESSAGE=//p'
}
no_temporaries() {
        assert_eq "" "$(find "$TEST_DIR/var" -name 'state.tmp-*')" "$1: no temporary file left"
}
# The file parses (--status reads it all or nothing) and lists the address.
state_intact() {
        "$ALLOWLISTD" -c "$DAEMON_CONF" --status --json >"$TEST_DIR/status.json" 2>"$TEST_DIR/status.err" ||
                fail "$1: the state file does not load: $(cat "$TEST_DIR/status.err")"
        grep -q '192.0.2.1' "$TEST_DIR/status.json" || fail "$1: the state file lacks 192.0.2.1"
}

# case: previous file (yes/no), injection, expected words after "Failed to write state file ...: ERROR; "
run_case() {
        local previous=$1 inject=$2 error=$3 outcome=$4 what="$2 (${1} previous file)" mark msgs before=""
        rm -f "$state"
        if [[ $previous == with ]]; then
                daemon_start
                daemon_stop
                [[ -f $state ]] || fail "$what: no state file to begin with"
                before=$(sha256sum <"$state")
        fi
        mark=$(wc -l <"$JOURNAL_LOG")
        DAEMON_WRAPPER=(strace -qq -o /dev/null -e trace=write,fsync,rename -e inject="$inject")
        daemon_start
        DAEMON_WRAPPER=()
        # The first save comes with READY=1 (the first round is in).
        wait_until 5 bash -c "tail -n +$((mark + 1)) '$JOURNAL_LOG' | grep -q '^MESSAGE=Failed to write state file'" ||
                fail "$what: no failure logged: $(messages_since "$mark")"
        kill -0 "$DAEMON_PID" || fail "$what: the daemon died"
        assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "$what: the set is intact"
        msgs=$(messages_since "$mark")
        assert_eq "Failed to write state file $state: $error; $outcome." \
                "$(grep '^Failed to write state file' <<<"$msgs")" "$what: the failure, said once and truly"
        no_temporaries "$what, after the failure"
        case $outcome in
        "keeping the previous one") assert_eq "$before" "$(sha256sum <"$state")" "$what: the previous file, untouched" ;;
        "the new one is in place"*) state_intact "$what" ;;
        "there is no state file"*) [[ ! -e $state ]] || fail "$what: a state file appeared" ;;
        esac
        daemon_stop
        assert_eq 0 "$DAEMON_RC" "$what: exit status (the final save went through)"
        # The listener may still be writing the daemon's last datagrams.
        wait_until 5 bash -c "tail -n +$((mark + 1)) '$JOURNAL_LOG' | grep -q '^MESSAGE=Wrote state file'" || true
        msgs=$(messages_since "$mark")
        assert_eq 1 "$(grep -c '^Failed to write state file' <<<"$msgs")" "$what: the failure logged once"
        assert_eq "Wrote state file $state again after earlier failures." \
                "$(grep '^Wrote state file' <<<"$msgs")" "$what: the recovery logged once"
        state_intact "$what, after the final save"
        no_temporaries "$what, at the end"
}

run_case without write:error=ENOSPC:when=1 "No space left on device" \
        "there is no state file, so a restart now would begin without the addresses learnt"
run_case with write:error=ENOSPC:when=1 "No space left on device" "keeping the previous one"
run_case with write:error=EINTR:when=1 "Interrupted system call" "keeping the previous one"
run_case with fsync:error=EIO:when=1 "Input/output error" "keeping the previous one"
run_case with rename:error=EIO:when=1 "Input/output error" "keeping the previous one"
run_case without rename:error=ENOSPC:when=1 "No space left on device" \
        "there is no state file, so a restart now would begin without the addresses learnt"
# The second fsync is the directory's, after the rename: the new file is there.
run_case with fsync:error=EIO:when=2 "Input/output error" "the new one is in place, but may not survive a power failure"
run_case without fsync:error=EIO:when=2 "Input/output error" "the new one is in place, but may not survive a power failure"

# ---- every save fails, there is no state file: the exit says so
rm -f "$state"
mark=$(wc -l <"$JOURNAL_LOG")
DAEMON_WRAPPER=(strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:error=EIO)
daemon_start
DAEMON_WRAPPER=()
wait_until 5 bash -c "tail -n +$((mark + 1)) '$JOURNAL_LOG' | grep -q '^MESSAGE=Failed to write state file'" ||
        fail "no failure logged"
daemon_stop
assert_eq 1 "$DAEMON_RC" "exit status when the final save failed and there is no state file"
wait_until 5 bash -c "tail -n +$((mark + 1)) '$JOURNAL_LOG' | grep -q '^MESSAGE=Exiting with no state file'" || true
msgs=$(messages_since "$mark")
assert_eq 1 "$(grep -c '^Failed to write state file' <<<"$msgs")" "every save failing: logged once"
grep -qx "Exiting with no state file at $state: the next start begins without the addresses learnt." <<<"$msgs" ||
        fail "the exit does not say why: $msgs"
no_temporaries "every save failing"
[[ ! -e $state ]] || fail "a state file appeared although every fsync failed"

# ---- static addresses only: STATUS= says there is nothing to refresh
daemon_config "[daemon]
state_file = $state

[gs]
addresses = 198.51.100.7
allow = tcp/22"
daemon_start
assert_eq "STATUS=1 group, 1 static address, no host names to refresh" "$(grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1)" \
        "STATUS= of a static-only configuration"
daemon_stop
echo OK
