# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The gateway topology of the snooping tests, sourced after lib.sh's require_root_netns:
#
#   client namespace   c0 10.1.0.2/24, default via 10.1.0.1       (in_client CMD...)
#   this namespace     g0 10.1.0.1/24, g1 192.0.2.1/24, forwarding: the gateway
#   outside namespace  o0 192.0.2.2/24 and 192.0.2.53 (dnsmasq), 198.51.100.{10,11,12,100}
#                      on lo with TCP listeners on 443 and 8443    (in_outside CMD...)
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
        ip link set g0 up
        ip link set g1 up
        ip route add 198.51.100.0/24 via 192.0.2.2
        sysctl -qw net.ipv4.ip_forward=1

        in_client ip link set lo up
        in_client ip addr add 10.1.0.2/24 dev c0
        in_client ip link set c0 up
        in_client ip route add default via 10.1.0.1

        in_outside ip link set lo up
        in_outside ip addr add 192.0.2.2/24 dev o0
        in_outside ip addr add 192.0.2.53/32 dev o0
        in_outside ip link set o0 up
        in_outside ip route add default via 192.0.2.1
        for a in 10 11 12 100; do
                in_outside ip addr add 198.51.100.$a/32 dev lo
        done

        # nsenter execs what it runs, so $! is the program itself (a shell function would be a
        # subshell).
        nsenter -t "$OUTSIDE" -n -- /usr/sbin/dnsmasq --keep-in-foreground --user=root --group=root \
                --no-resolv --no-hosts --no-poll \
                --bind-interfaces --listen-address=192.0.2.53 --port=53 --addn-hosts="$TEST_DIR/outside.hosts" \
                --local=/cloud/ --local=/net/ --local=/test/ \
                --local-ttl=300 --pid-file="$TEST_DIR/outside.pid" --log-facility="$TEST_DIR/outside.log" \
                --log-queries "${OUTSIDE_DNS_ARGS[@]}" >/dev/null 2>"$TEST_DIR/outside.stderr" &
        OUTSIDE_DNS=$!
        at_exit "kill $OUTSIDE_DNS 2>/dev/null; wait $OUTSIDE_DNS 2>/dev/null"
        wait_until 10 in_outside bash -c '[[ -n "$(ss -Hlun "sport = :53")" ]]' || fail "outside dnsmasq did not start"

        for port in 443 8443; do
                nsenter -t "$OUTSIDE" -n -- socat -T1 TCP4-LISTEN:$port,fork,reuseaddr EXEC:/bin/true >/dev/null 2>&1 &
                at_exit "kill $! 2>/dev/null"
        done
        wait_until 10 in_outside bash -c '[[ $(ss -Hltn "sport = :443 or sport = :8443" | wc -l) == 2 ]]' ||
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
