#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tightening the configuration takes effect at once, for addresses already allowed too: turning
# allow_private off removes private answers on reload and at a restart from the state file, and a
# shortened validity= caps what a restart restores (a wrong clock or an old file must never make
# an address outlive one validity from now).
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

dns_set p.vendor.test 10.1.2.3 192.0.2.5
dns_start

config() {
        daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
allow_private = $1
retry_min = 1s

[p]
hosts = p.vendor.test
allow = tcp/443
validity = $2
refresh = 1s"
}

config yes 1h
daemon_start
assert_eq $'10.1.2.3\n192.0.2.5' "$(set_elements inet allowlistd p_v4)" "private answer allowed with allow_private = yes"

config no 1h
kill -HUP "$DAEMON_PID"
wait_until 2 bash -c '[[ "$(nft list set inet allowlistd p_v4)" != *10.1.2.3* ]]' || fail "private address kept after allow_private = no"
assert_eq "192.0.2.5" "$(set_elements inet allowlistd p_v4)" "allow_private = no on reload drops the private address only"

# A state file from a run with allow_private = yes and validity 1h ...
config yes 1h
kill -HUP "$DAEMON_PID"
wait_until 5 bash -c '[[ "$(nft list set inet allowlistd p_v4)" == *10.1.2.3* ]]' || fail "private address not back"
daemon_stop
nft delete table inet allowlistd
dns_stop

# ... restored with DNS down under a shorter validity: capped at it.
config yes 20s
daemon_start
assert_eq $'10.1.2.3\n192.0.2.5' "$(set_elements inet allowlistd p_v4)" "restored with a shorter validity"
for t in $(set_timeouts inet allowlistd p_v4 | awk '{ print $2 }'); do
        (( t <= 20 )) || fail "restored timeout ${t}s exceeds the new validity of 20s"
done
echo "ok: restored timeouts capped at the new validity"
daemon_stop
nft delete table inet allowlistd

# ... and with allow_private = no: the private address is not restored.
config no 1h
daemon_start
assert_eq "192.0.2.5" "$(set_elements inet allowlistd p_v4)" "allow_private = no at start: private address not restored"
daemon_stop
assert_eq 0 "$DAEMON_RC" "clean exit"
