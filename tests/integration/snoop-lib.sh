# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The gateway topology of the snooping tests, sourced after lib.sh's require_root_netns:
#
#   client namespace   c0 10.1.0.2/24, default via 10.1.0.1       (in_client CMD...)
#   this namespace     g0 10.1.0.1/24, g1 192.0.2.1/24, forwarding: the gateway
#   outside namespace  o0 192.0.2.2/24 and 192.0.2.53 (dnsmasq), 198.51.100.{10,11,12,100}
#                      on lo with TCP listeners on 443 and 8443    (in_outside CMD...)
# and the same over IPv6: client fd00:1::2/64 via gateway fd00:1::1; gateway g1 2001:db8:2::1/64;
# outside o0 2001:db8:2::2/64 and 2001:db8:2::53 (the same dnsmasq), 2001:db8:100::{10,11} on lo.
# snoop_second_resolver starts another dnsmasq at 192.0.2.54 serving $TEST_DIR/outside2.hosts.
#
# snoop_topology starts it all: the outside dnsmasq serves $TEST_DIR/outside.hosts (write it
# first) plus OUTSIDE_DNS_ARGS (array), and the gateway gets the operator's ruleset (forward
# policy drop, ct established, jump allowlistd, udp dport 53 accept, reject).
# snoop_config DAEMON_LINES GROUPS writes the daemon's configuration for it: table inet filter,
# chain allowlistd, the outside resolver, snoop = yes, then DAEMON_LINES and GROUPS.

OUTSIDE_DNS_ARGS=()


# A namespace is held by a sleeping process; NETNS_PID names it.
_netns_differs() {
        local theirs
        theirs="$(readlink "/proc/$1/ns/net")" && [[ "$theirs" != "$(readlink /proc/$$/ns/net)" ]]
}
new_netns() {
        unshare -n -- sleep infinity >/dev/null 2>&1 &
        NETNS_PID=$!
        at_exit "kill $NETNS_PID 2>/dev/null"
        wait_until 10 _netns_differs "$NETNS_PID" || fail "cannot create a network namespace"
}
in_client() { nsenter -t "$CLIENT" -n -- "$@"; }
in_outside() { nsenter -t "$OUTSIDE" -n -- "$@"; }

snoop_topology() {
        command -v socat >/dev/null || skip "needs socat"
        command -v nsenter >/dev/null || skip "needs nsenter"
        new_netns
        CLIENT=$NETNS_PID
        new_netns
        OUTSIDE=$NETNS_PID

        ip link add g0 type veth peer name c0
        ip link set c0 netns "$CLIENT"
        ip link add g1 type veth peer name o0
        ip link set o0 netns "$OUTSIDE"
        ip addr add 10.1.0.1/24 dev g0
        ip addr add 192.0.2.1/24 dev g1
        ip -6 addr add fd00:1::1/64 dev g0 nodad
        ip -6 addr add 2001:db8:2::1/64 dev g1 nodad
        ip link set g0 up
        ip link set g1 up
        ip route add 198.51.100.0/24 via 192.0.2.2
        ip -6 route add 2001:db8:100::/64 via 2001:db8:2::2
        sysctl -qw net.ipv4.ip_forward=1
        sysctl -qw net.ipv6.conf.all.forwarding=1

        in_client ip link set lo up
        in_client ip addr add 10.1.0.2/24 dev c0
        in_client ip link set c0 up
        in_client ip route add default via 10.1.0.1
        in_client ip -6 addr add fd00:1::2/64 dev c0 nodad
        in_client ip -6 route add default via fd00:1::1

        in_outside ip link set lo up
        in_outside ip addr add 192.0.2.2/24 dev o0
        in_outside ip addr add 192.0.2.53/32 dev o0
        in_outside ip link set o0 up
        in_outside ip route add default via 192.0.2.1
        in_outside ip -6 addr add 2001:db8:2::2/64 dev o0 nodad
        in_outside ip -6 addr add 2001:db8:2::53/128 dev o0 nodad
        in_outside ip -6 route add default via 2001:db8:2::1
        for a in 10 11 12 100; do
                in_outside ip addr add 198.51.100.$a/32 dev lo
        done
        for a in 10 11; do
                in_outside ip -6 addr add 2001:db8:100::$a/128 dev lo nodad
        done

        # nsenter execs what it runs, so $! is the program itself (a shell function would be a
        # subshell).
        nsenter -t "$OUTSIDE" -n -- /usr/sbin/dnsmasq --keep-in-foreground --user=root --group=root \
                --no-resolv --no-hosts --no-poll \
                --bind-interfaces --listen-address=192.0.2.53 --listen-address=2001:db8:2::53 --port=53 --addn-hosts="$TEST_DIR/outside.hosts" \
                --local=/cloud/ --local=/net/ --local=/test/ \
                --local-ttl=300 --pid-file="$TEST_DIR/outside.pid" --log-facility="$TEST_DIR/outside.log" \
                --log-queries "${OUTSIDE_DNS_ARGS[@]}" >/dev/null 2>"$TEST_DIR/outside.stderr" &
        OUTSIDE_DNS=$!
        at_exit "kill $OUTSIDE_DNS 2>/dev/null; wait $OUTSIDE_DNS 2>/dev/null"
        wait_until 10 in_outside bash -c '[[ $(ss -Hlun "sport = :53" | wc -l) == 2 ]]' || fail "outside dnsmasq did not start"

        for port in 443 8443; do
                nsenter -t "$OUTSIDE" -n -- socat -T1 TCP4-LISTEN:$port,fork,reuseaddr EXEC:/bin/true >/dev/null 2>&1 &
                at_exit "kill $! 2>/dev/null"
                nsenter -t "$OUTSIDE" -n -- socat -T1 TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=1 EXEC:/bin/true >/dev/null 2>&1 &
                at_exit "kill $! 2>/dev/null"
        done
        wait_until 10 in_outside bash -c '[[ $(ss -Hltn "sport = :443 or sport = :8443" | wc -l) == 4 ]]' ||
                fail "listeners did not start"

        # The operator's ruleset on the gateway.
        nft -f - <<'EOF'
table inet filter {
        chain allowlistd {
        }
        chain forward {
                type filter hook forward priority filter; policy drop;
                ct state established,related accept
                jump allowlistd
                udp dport 53 accept
                reject with tcp reset
        }
}
EOF
}

snoop_second_resolver() {
        in_outside ip addr add 192.0.2.54/32 dev o0
        nsenter -t "$OUTSIDE" -n -- /usr/sbin/dnsmasq --keep-in-foreground --user=root --group=root \
                --no-resolv --no-hosts --no-poll \
                --bind-interfaces --listen-address=192.0.2.54 --port=53 --addn-hosts="$TEST_DIR/outside2.hosts" \
                --local=/cloud/ --local=/net/ --local=/test/ \
                --local-ttl=300 --pid-file="$TEST_DIR/outside2.pid" --log-facility="$TEST_DIR/outside2.log" \
                --log-queries >/dev/null 2>"$TEST_DIR/outside2.stderr" &
        at_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
        wait_until 10 in_outside bash -c '[[ -n "$(ss -Hlun "src 192.0.2.54 and sport = :53")" ]]' ||
                fail "the second outside dnsmasq did not start"
}

# The number of packets the kernel has put into queue N so far (id_sequence of
# /proc/net/netfilter/nfnetlink_queue, this namespace's: the 8th field), or "unbound".
queued_count() {
        awk -v q="$1" '$1 == q { print $8; found = 1 } END { if (!found) print "unbound" }' \
                /proc/net/netfilter/nfnetlink_queue
}

# The snooping chains of table inet filter, from `nft -j list table`: their names, then each
# chain's lines as `nft list chain` shows them (the JSON of an xtables target has no queue
# number; nft's text, through libxtables, has).
snoop_chains() {
        local c
        for c in $(nft -j list table inet filter |
                   jq -r '.nftables[] | select(.chain) | .chain.name | select(startswith("snoop_"))'); do
                echo "$c:"
                nft list chain inet filter "$c" | grep -v '^#' | sed -n 's/^\t\t/  /p'
        done
}

snoop_config() {
        daemon_config "[daemon]
table = inet filter
chain = allowlistd
state_file = $TEST_DIR/state
dns_servers = 192.0.2.53:53
snoop = yes
$1

$2"
}

# Attaches strace to the running daemon's nftables batches, which it sends with sendmsg() (see
# nft_batch_transmit()), with INJECT, strace's inject= value (delay_enter=1s, error=ENOMEM);
# sets TRACER; untrace_daemon detaches. Only the netfilter netlink sockets open now (protocol
# 12) are traced; with --all, every sendmsg() of the daemon: also those of sockets it opens later
# (the snooping chains' own) and sd_notify()'s. Its log: $TEST_DIR/strace.log.
trace_daemon_batches() {
        local paths=() fd link
        if [[ $1 == --all ]]; then
                shift
        else
                for fd in /proc/"$DAEMON_PID"/fd/*; do
                        link=$(readlink "$fd") || continue
                        [[ $link =~ ^socket:\[([0-9]+)\]$ ]] || continue
                        awk -v ino="${BASH_REMATCH[1]}" '$2 == 12 && $NF == ino { found = 1 } END { exit !found }' \
                                /proc/net/netlink && paths+=(-P "$link")
                done
                (( ${#paths[@]} >= 2 )) || fail "the daemon's netlink sockets not found: ${paths[*]}"
        fi
        strace -qq -f -o "$TEST_DIR/strace.log" -p "$DAEMON_PID" "${paths[@]}" -e trace=sendmsg \
                -e inject=sendmsg:"$1" &
        TRACER=$!
        at_exit "kill $TRACER 2>/dev/null"
        wait_until 5 bash -c "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$DAEMON_PID/status" ||
                fail "strace did not attach"
}
untrace_daemon() {
        kill "$TRACER" 2>/dev/null || true
        wait "$TRACER" 2>/dev/null || true
}
