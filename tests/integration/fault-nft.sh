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
#     left the new group's sets behind).
# After each: the daemon is alive, the sets and the chain are exactly as expected.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
require_strace

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
for fault in ENOBUFS ENOMEM; do
        for call in sendto recvfrom; do
                for when in 1 2 3 4 5 6 7; do
                        [[ $call == sendto && $when -gt 4 ]] && continue
                        what="start, $fault on $call #$when"
                        nft delete table inet allowlistd 2>/dev/null || true
                        rm -f "$TEST_DIR/state"
                        : >"$TEST_DIR/daemon.log"
                        DAEMON_WRAPPER=(strace -f -qq -o /dev/null -e trace=sendto,recvfrom -e inject="$call:error=$fault:when=$when")
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
        done
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

lost=0
# A reload reads about 10 replies before its batch goes out (drains, the probe, the generation;
# one read is the monitor's), then one per message of the batch.
for fault in recvfrom:error=ENOBUFS:when={1..18} sendto:error=ENOBUFS:when={1..5} recvfrom:error=ENOMEM:when={3,12}; do
        what="reload, $fault"
        mark=$(wc -l <"$DAEMON_LOG")
        daemon_config "$conf_b"
        strace -qq -o /dev/null -p "$DAEMON_PID" -e trace=sendto,recvfrom -e inject="$fault" &
        tracer=$!
        wait_until 5 bash -c "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$DAEMON_PID/status" || fail "$what: strace did not attach"
        reload_and_wait
        kill "$tracer"
        wait "$tracer" 2>/dev/null || true
        tracer=
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

kill -0 "$DAEMON_PID" || fail "the daemon died"
daemon_stop
assert_eq 0 "$DAEMON_RC" "exit status after the faults"
echo OK
