#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo a new user runs first (README.md), and an integration test so it cannot rot.
#
# Runs the real allowlistd with every product whose profile names hosts (WiLife names none),
# inside a throwaway network namespace, against a local dnsmasq zone that carries the vendors'
# host names with documentation addresses, with the vendors' day-long validity periods scaled
# down to seconds (WiseMo's 30 days -> 30 s, 7 days -> 7 s). It shows the table filling, changes
# csall.wisemo.com's answer half-way, shows the new address appear and the old one age out, shows
# DNS snooping learn a name below senso's wildcard domain *.senso.cloud from a client's reply, and
# cleans up. Nothing on the host's firewall is touched and no internet is needed.
#
# Usage, as root: tests/demo.sh [PATH/TO/allowlistd]     (default: build/src/allowlistd)
here="$(cd "$(dirname "$0")" && pwd)"
ALLOWLISTD="$(realpath "${1:-${ALLOWLISTD:-$here/../build/src/allowlistd}}")"
NOTIFY_LISTEN="${NOTIFY_LISTEN:-$(dirname "$ALLOWLISTD")/../tests/integration/notify-listen}"
SNOOP_CLIENT="${SNOOP_CLIENT:-$(dirname "$ALLOWLISTD")/../tests/integration/snoop-client}"
SRCDIR="${SRCDIR:-$here/..}"
export ALLOWLISTD NOTIFY_LISTEN SNOOP_CLIENT SRCDIR
[[ -x "$ALLOWLISTD" && -x "$NOTIFY_LISTEN" && -x "$SNOOP_CLIENT" ]] || { echo "Build first: meson setup build && meson compile -C build" >&2; exit 1; }

source "$here/integration/lib.sh"
require_root_netns "$@"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A DNS zone with the vendors' names (documentation addresses), served by dnsmasq on 127.0.0.1"
DNS_TTL=1
# The vendors' names are answered here, never forwarded: a missing AAAA is "no data", not REFUSED.
DNS_EXTRA_ARGS=(--local=/com/ --local=/net/ --local=/cloud/)
dns_write_zone <<'ZONE'
192.0.2.10 mycloudall.wisemo.com
192.0.2.11 mycloudall.wisemo.com
2001:db8::10 mycloudall.wisemo.com
198.51.100.20 csall.wisemo.com
198.51.100.21 csall.wisemo.com
2001:db8::20 csall.wisemo.com
192.0.2.30 skinsall.wisemo.com
203.0.113.40 sensoeugeneral.blob.core.windows.net
203.0.113.41 sensoeustorage.blob.core.windows.net
203.0.113.42 sensologarchivestorage.blob.core.windows.net
203.0.113.43 senso-sturn-northeu.cloudapp.net
2001:db8::43 senso-sturn-northeu.cloudapp.net
203.0.113.44 senso-sturn-centralusa.cloudapp.net
198.51.100.50 cdn.kognitivspark.net
198.51.100.51 global.turn.twilio.com
198.51.100.52 stun.google.com
2001:db8::52 stun.google.com
192.0.2.60 oem.trispen.com
192.0.2.61 lookup.trispen.com
203.0.113.45 a1.senso.cloud
ZONE
cat "$DNS_ZONE"
dns_start

say "The shipped product profiles, with validity in days scaled to seconds"
mkdir "$TEST_DIR/products"
for p in wisemo-mycloud senso remotespark trispen-atheoffice; do
        sed -E 's/^(validity *= *[0-9]+)d *$/\1s/' "$SRCDIR/conf/products/$p.conf" >"$TEST_DIR/products/$p.conf"
done
grep -H '^validity' "$TEST_DIR"/products/*.conf | sed "s|$TEST_DIR/products/||"

daemon_config "[daemon]
products = wisemo-mycloud senso remotespark trispen-atheoffice
product_dir = $TEST_DIR/products
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
refresh_min = 1s
retry_min = 1s
snoop = yes"
"$ALLOWLISTD" --check-config -c "$DAEMON_CONF"

say "allowlistd starts; once it reports READY=1 the first round is in the kernel"
daemon_start
nft list table inet allowlistd

expect_cs() {
        [[ "$(set_elements inet allowlistd wisemo_cs_v4)" == "$1" ]]
}
expect_cs $'198.51.100.20\n198.51.100.21' || fail "wisemo_cs_v4 does not hold csall.wisemo.com's addresses"
for set in wisemo_cm_v4 senso_https_v4 senso_sturn_us_v4 remotespark_stun_turn_v4 trispen_lookup_v4; do
        [[ -n "$(set_elements inet allowlistd $set)" ]] || fail "$set is empty"
done

say "csall.wisemo.com now answers 198.51.100.21 and 198.51.100.22 (198.51.100.20 is gone from DNS)"
dns_set csall.wisemo.com 198.51.100.21 198.51.100.22 2001:db8::20
dns_reload
t0=$(date +%s)
for _ in $(seq 1 14); do
        sleep 1
        printf '%2ss  wisemo_cs_v4: %s\n' $(( $(date +%s) - t0 )) \
                "$(set_timeouts inet allowlistd wisemo_cs_v4 | awk '{ printf "%s (expires in %s s)  ", $1, $3 }')"
        expect_cs $'198.51.100.21\n198.51.100.22' && break
done
expect_cs $'198.51.100.21\n198.51.100.22' || fail "198.51.100.20 did not age out"
(( $(date +%s) - t0 >= 5 )) || fail "198.51.100.20 left before its 7 s validity"
echo "198.51.100.20 stayed for its whole validity after DNS stopped returning it, then left the kernel set."

say "Snooping: a client asks for a1.senso.cloud, below senso's wildcard domain *.senso.cloud"
# The resolver's reply to a client on this machine passes the output hook: allowlistd holds it until
# 203.0.113.45 is in senso_https_v4, so the client's first connection would already pass.
"$SNOOP_CLIENT" 127.0.0.1 a1.senso.cloud 443 >/dev/null
set_elements inet allowlistd senso_https_v4 | grep -qx 203.0.113.45 || fail "a1.senso.cloud was not learned"
set_timeouts inet allowlistd senso_https_v4 | grep '^203.0.113.45 '
grep 'a1.senso.cloud' "$DAEMON_LOG"

say "What the daemon logged, and what allowlistd --status shows"
grep -E 'csall' "$DAEMON_LOG" | tail -n 6
"$ALLOWLISTD" --status -c "$DAEMON_CONF" | head -n 30

daemon_stop
say "Done: the namespace, its nftables table and dnsmasq are gone with this script."
