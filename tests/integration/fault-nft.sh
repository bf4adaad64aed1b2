#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real daemon with netlink faults injected by strace (the syscall fails without running, so
# a reply it should have read stays unread, exactly as when the kernel drops it):
#   - at the start: ENOBUFS and ENOMEM on each of the first sends and reads (the first
#     transaction among them) are retried; READY=1 comes once the allow-list is in, never exit 1;
#   - during a reload that adds a group: ENOBUFS on each of the first reads (the replies of the
#     reload's transaction among them) and sends. Whether the kernel committed it or not, the
#     daemon finds out, says so once, and the kernel ends up holding exactly one configuration:
#     the new one, which the daemon then runs. No set of the other stays, and the monitor does
#     not take the daemon's own commit for someone else's (which put the old ruleset back and
#     left the new group's sets behind);
#   - during a reload, ENOBUFS on every second read from the batch's replies on: whatever the
#     verdict, the kernel holds exactly the configuration the daemon runs (a reload it could not
#     settle puts the old one back in full and deletes the new group's sets).
# After each: the daemon is alive, the sets and the chain are exactly as expected.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's daemon would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

dns_set a.vendor.test 192.0.2.1
dns_start

conf_a="[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
retry_min = 1s
retry_max = 2s

[ga]
hosts = a.vendor.test
allow = tcp/443"
conf_b="$conf_a

[newg]
addresses = 203.0.113.0/24
allow = tcp/9000"

objects() {
        nft -j list table inet allowlistd 2>/dev/null |
                jq -r '.nftables[] | (select(.set) | "set \(.set.name)"), (select(.chain) | "chain \(.chain.name)")' | sort
}
# The chain's rules as "SET PORT" lines.
rules() {
        nft -j list chain inet allowlistd allowlistd |
                jq -r '.nftables[] | select(.rule) | .rule.expr | [(.[] | select(.match) | .match.right |
        if type == "string" then . elif type == "number" then tostring else empty end)] | join(" ")' | sort
}
objects_a=$'chain allowlistd\nset ga_v4\nset ga_v6'
objects_b=$'chain allowlistd\nset ga_v4\nset ga_v6\nset newg_v4\nset newg_v6'
rules_a=$'@ga_v4 443\n@ga_v6 443'
rules_b=$'@ga_v4 443\n@ga_v6 443\n@newg_v4 9000\n@newg_v6 9000'

check_a() {
        assert_eq "$objects_a" "$(objects)" "$1: the objects of the first configuration, nothing else"
        assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "$1: ga_v4"
        assert_eq "$rules_a" "$(rules)" "$1: the chain's rules"
}
check_b() {
        assert_eq "$objects_b" "$(objects)" "$1: the objects of the new configuration, nothing else"
        assert_eq "192.0.2.1" "$(set_elements inet allowlistd ga_v4)" "$1: ga_v4"
        assert_eq "203.0.113.0/24" "$(set_elements inet allowlistd newg_v4)" "$1: newg_v4"
        assert_eq "$rules_b" "$(rules)" "$1: the chain's rules"
}

# ---- the start ---------------------------------------------------------------------------------
daemon_config "$conf_a"
# Every one of the first sends and reads with ENOBUFS (a transaction is the only sendmsg(), the
# first one the first transaction), a few with ENOMEM. Without -f: strace follows the main
# thread only, where the start's transactions go; the threads that send the transactions at
# run time would count their own first sendmsg() and fail every one.
for fault in sendto:ENOBUFS:{1..3} sendmsg:ENOBUFS:{1,2} recvfrom:ENOBUFS:{1..7} sendto:ENOMEM:2 sendmsg:ENOMEM:1 \
             recvfrom:ENOMEM:{3,5}; do
        IFS=: read -r call fault when <<<"$fault"
        what="start, $fault on $call #$when"
        nft delete table inet allowlistd 2>/dev/null || true
        rm -f "$TEST_DIR/state"
        : >"$TEST_DIR/daemon.log"
        DAEMON_WRAPPER=(strace -qq -o /dev/null -e trace=sendto,sendmsg,recvfrom -e inject="$call:error=$fault:when=$when")
        daemon_start
        check_a "$what"
        grep -q 'refuses' "$DAEMON_LOG" && fail "$what: a transient failure taken for a refusal: $(cat "$DAEMON_LOG")"
        n=$(grep -c 'Failed to apply nftables transaction' "$DAEMON_LOG" || true)
        if (( n > 0 )); then
                assert_eq 1 "$n" "$what: the failure logged once"
                assert_eq 1 "$(grep -c 'applied again after earlier failures' "$DAEMON_LOG" || true)" \
                        "$what: the recovery logged once"
                echo "ok: $what: failed, retried, ready"
        fi
        daemon_stop
        assert_eq 0 "$DAEMON_RC" "$what: exit status"
done
DAEMON_WRAPPER=()

# ---- reloads -----------------------------------------------------------------------------------
daemon_start
check_a "before the reloads"
at_exit '[[ -n ${tracer:-} ]] && kill $tracer 2>/dev/null'

reload_and_wait() {
        local before
        before=$(grep -cE 'Reloaded|Rejected' "$DAEMON_LOG" || true)
        kill -HUP "$DAEMON_PID"
        wait_until 10 bash -c "(( \$(grep -cE 'Reloaded|Rejected' '$DAEMON_LOG') > $before ))" ||
                fail "$what: no verdict on the reload"
}

# Reloads conf_b with strace injecting $1 for the length of the reload; mark: where the
# daemon's log stood before.
reload_traced() {
        mark=$(wc -l <"$DAEMON_LOG")
        daemon_config "$conf_b"
        strace -qq -o /dev/null -p "$DAEMON_PID" -e trace=sendto,sendmsg,recvfrom -e inject="$1" &
        tracer=$!
        wait_until 5 bash -c "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$DAEMON_PID/status" ||
                fail "$what: strace did not attach"
        reload_and_wait
        kill "$tracer"
        wait "$tracer" 2>/dev/null || true
        tracer=
}

lost=0
# A reload reads about 10 replies before its batch goes out (drains, the probe, the generation;
# one read is the monitor's), then one per message of the batch.
for fault in recvfrom:error=ENOBUFS:when={1,3,5,7,9,10,11,12,13,14,15,16} sendto:error=ENOBUFS:when={2,4} \
             sendmsg:error=ENOBUFS:when=1 \
             recvfrom:error=ENOMEM:when={3,12}; do
        what="reload, $fault"
        reload_traced "$fault"
        # Long enough for the monitor's debounce and an apply after it, had it been fooled.
        sleep 0.4
        kill -0 "$DAEMON_PID" || fail "$what: the daemon died"
        new=$(tail -n +"$((mark + 1))" "$DAEMON_LOG")
        grep -q 'Reloaded' <<<"$new" || fail "$what: the new configuration was not accepted: $new"
        check_b "$what"
        n=$(grep -c 'were lost' <<<"$new" || true)
        (( n <= 1 )) || fail "$what: the lost replies logged $n times: $new"
        if (( n == 1 )); then
                lost=$((lost + 1))
                grep 'were lost' <<<"$new" | grep -q 'it is in force' || fail "$what: the outcome not said: $new"
                # (A fault on the monitor's own socket means lost events: a repair is right then.)
                grep -q 'Another program changed' <<<"$new" && fail "$what: our own commit taken for a foreign one: $new"
        fi
        # Back to the first configuration, with nothing injected: newg's sets go.
        daemon_config "$conf_a"
        what="$what, then back"
        reload_and_wait
        check_a "$what"
done
(( lost >= 1 )) || fail "no injection hit the replies of a reload's transaction"
echo "ok: $lost of the reloads lost their transaction's replies; each settled from what the kernel held"

# Repeated faults (every second read from the first reply of the batch on): the second attempt
# may fail too. Whatever the verdict, the kernel ends up with exactly the configuration the daemon
# says it runs: the new one, or the old one put back in full with the new group's sets deleted.
check_either() {
        local i
        for i in $(seq 50); do
                if grep -q 'Reloaded' <<<"$new"; then
                        [[ "$(objects)" == "$objects_b" && "$(rules)" == "$rules_b" ]] && { check_b "$what"; return; }
                else
                        [[ "$(objects)" == "$objects_a" && "$(rules)" == "$rules_a" ]] && { check_a "$what"; return; }
                fi
                sleep 0.1
        done
        if grep -q 'Reloaded' <<<"$new"; then check_b "$what"; else check_a "$what"; fi
}
for fault in recvfrom:error=ENOBUFS:when={11,12,13}+2; do
        what="reload, $fault"
        reload_traced "$fault"
        kill -0 "$DAEMON_PID" || fail "$what: the daemon died"
        new=$(tail -n +"$((mark + 1))" "$DAEMON_LOG")
        check_either
        echo "ok: $what: $(grep -oE 'Reloaded|Rejected the new configuration[^:]*: [^(;]*' <<<"$new" | head -n 1)"
        daemon_config "$conf_a"
        what="$what, then back"
        reload_and_wait
        check_a "$what"
done

kill -0 "$DAEMON_PID" || fail "the daemon died"
daemon_stop
assert_eq 0 "$DAEMON_RC" "exit status after the faults"
echo OK
