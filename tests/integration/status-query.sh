#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# allowlistd --status ADDRESS and --status NAME against the real daemon, kernel and dnsmasq:
# an address DNS brought, one a static prefix covers, one whose validity ran out while the daemon
# was stopped, and an unknown one; a group and a host. Exact text (times and durations replaced
# by TIME and DUR), exit codes, and the JSON's figures (validity, kernel timeout).
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
export TZ=UTC

dns_set a.vendor.test 192.0.2.1 2001:db8::1
dns_set b.vendor.test 198.51.100.2
dns_start
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
refresh_min = 1s

[ga]
hosts = a.vendor.test n.vendor.test
addresses = 203.0.113.0/24 192.0.2.1
allow = tcp/443 udp/3478-3479
validity = 2h
refresh = 1h

[gb]
hosts = b.vendor.test
family = ipv4
allow = tcp/80
validity = 3s
refresh = 1s"
daemon_start
# The state file follows the first round at once.
wait_until 5 test -s "$TEST_DIR/state" || fail "no state file"

# status ARGS...: the text in OUT with times and durations replaced; the exit code in RC.
status() {
        local out
        RC=0
        out="$("$ALLOWLISTD" -c "$DAEMON_CONF" --status "$@")" || RC=$?
        # Element comments name the host that brought an address when the kernel has them.
        OUT="$(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC/TIME/g;
                s/\(([0-9]+[dhms])+ (left|ago)\)/(DUR \2)/g; s/expires ([0-9]+[dhms])+/expires DUR/;
                s/next lookup in ([0-9]+[dhms])+/next lookup in DUR/; s/ comment "[^"]*"//' <<<"$out")"
}

status 192.0.2.1
assert_eq "192.0.2.1: allowed
  group ga (tcp/443 udp/3478-3479): host a.vendor.test, allowed since TIME, last in DNS TIME, until TIME (DUR left)
  group ga (tcp/443 udp/3478-3479): static 192.0.2.1, no expiry
  kernel: set inet allowlistd ga_v4: 192.0.2.1" "$OUT" "an address both static and from DNS"
assert_eq 0 "$RC" "allowed: exit 0"

status 2001:db8::1
assert_eq "2001:db8::1: allowed
  group ga (tcp/443 udp/3478-3479): host a.vendor.test, allowed since TIME, last in DNS TIME, until TIME (DUR left)
  kernel: set inet allowlistd ga_v6: 2001:db8::1 timeout 2h expires DUR" "$OUT" "an address from DNS"
assert_eq 0 "$RC" "allowed: exit 0"

status 203.0.113.77
assert_eq "203.0.113.77: allowed
  group ga (tcp/443 udp/3478-3479): static 203.0.113.0/24, no expiry
  kernel: set inet allowlistd ga_v4: 203.0.113.0/24" "$OUT" "an address of a static prefix"
assert_eq 0 "$RC" "static: exit 0"

status 198.51.100.99
assert_eq "198.51.100.99: not allowed: no group has it" "$OUT" "an unknown address"
assert_eq 1 "$RC" "unknown: exit 1"

status 2001:db8::99
assert_eq "2001:db8::99: not allowed: no group has it" "$OUT" "an unknown IPv6 address"
assert_eq 1 "$RC" "unknown: exit 1"

# The JSON: the record's validity and the kernel's timeout, exactly.
json="$("$ALLOWLISTD" -c "$DAEMON_CONF" --status --json 2001:db8::1)"
# (Record times are converted from the boot-time clock one by one: a microsecond may differ.)
assert_eq "true 7200 7200000000 [\"tcp/443\",\"udp/3478-3479\"] a.vendor.test" \
        "$(jq -c -j '.allowed, " ", ((.groups[0].expiry - .groups[0].last_seen) / 1000000 | round), " ", .kernel[0].timeout_usec, " ", .groups[0].ports, " ", .groups[0].host' <<<"$json")" \
        "JSON: allowed, validity, kernel timeout, ports, host"
left="$(jq '.kernel[0].expires_in_usec' <<<"$json")"
(( left > 7100000000 && left <= 7200000000 )) || fail "JSON: kernel expires_in_usec $left"

# Since when: b.vendor.test answers every second with a validity of 3s, so 198.51.100.2 stays
# allowed without a gap; later answers move last_seen and expiry, never first_seen (the first
# answer's time, as the first state file recorded it).
first_json() { "$ALLOWLISTD" -c "$DAEMON_CONF" --status --json 198.51.100.2; }
t0="$(first_json | jq '.groups[0].first_seen')"
[[ "$t0" =~ ^[0-9]+$ ]] || fail "JSON: no first_seen for 198.51.100.2: $t0"
_answered_again() { (( $(first_json | jq '.groups[0].last_seen') > t0 + 1500000 )); }
wait_until 10 _answered_again || fail "198.51.100.2 was not answered again"
json="$(first_json)"
since="$(jq '.groups[0].first_seen' <<<"$json")"
(( since >= t0 - 1000 && since <= t0 + 1000 )) || fail "since moved with later answers: $t0, then $since"
assert_eq "true" "$(jq '.allowed and .groups[0].last_seen > .groups[0].first_seen + 1500000' <<<"$json")" \
        "answered again: allowed, last_seen after first_seen"
text="$("$ALLOWLISTD" -c "$DAEMON_CONF" --status 198.51.100.2 | sed -n 2p)"
[[ "$text" =~ ^"  group gb (tcp/80): host b.vendor.test, allowed since "([0-9-]+" "[0-9:]+" UTC"), ]] ||
        fail "text: no \"allowed since\": $text"
shown="$(date -u -d "${BASH_REMATCH[1]}" +%s)"
(( shown == since / 1000000 || shown == (since - 1000) / 1000000 || shown == (since + 1000) / 1000000 )) ||
        fail "text: allowed since $shown, not the first answer at $since usec"

# A reload and a restart keep it. ga is reloaded with refresh=1s, so 2001:db8::1 (answered once
# so far) is answered again and again: the reload carries it over, the answers move last_seen only,
# the state file then has it apart from last_seen, and the restore after a restart puts it back.
v6() { "$ALLOWLISTD" -c "$DAEMON_CONF" --status --json 2001:db8::1 | jq ".groups[0].$1"; }
v6_since="$(v6 first_seen)"
sed -i 's/^refresh = 1h$/refresh = 1s/' "$DAEMON_CONF"
"$ALLOWLISTD" -c "$DAEMON_CONF" --reload "$DAEMON_PID" || fail "reload failed"
_v6_answered_again() { (( $(v6 last_seen) > v6_since + 1500000 )); }
wait_until 10 _v6_answered_again || fail "2001:db8::1 was not answered again after the reload"
v6_after="$(v6 first_seen)"
(( v6_after >= v6_since - 1000 && v6_after <= v6_since + 1000 )) || fail "since changed across a reload: $v6_since, then $v6_after"
daemon_stop
v6_last="$(v6 last_seen)"
daemon_start
_v6_answered() { (( $(v6 last_seen) > v6_last )); }
wait_until 10 _v6_answered || fail "2001:db8::1 was not answered after the restart"
v6_after="$(v6 first_seen)"
(( v6_after >= v6_since - 1000 && v6_after <= v6_since + 1000 )) || fail "since changed across a restart: $v6_since, then $v6_after"
echo "ok: allowed since kept across a reload and a restart"

status ga
assert_eq "group ga (tcp/443 udp/3478-3479; validity 2h)
  static 192.0.2.1
  static 203.0.113.0/24
  host a.vendor.test: answering, last success TIME, next lookup in DUR
    192.0.2.1 allowed since TIME, until TIME (DUR left)
    2001:db8::1 allowed since TIME, until TIME (DUR left)
  host n.vendor.test: answering, last success TIME, next lookup in DUR
    no addresses" "$OUT" "a group"
assert_eq 0 "$RC" "a group: exit 0"
status B.Vendor.Test.
assert_eq "group gb (tcp/80; validity 3s)
  host b.vendor.test: answering, last success TIME, next lookup in DUR
    198.51.100.2 allowed since TIME, until TIME (DUR left)" "$OUT" "a host, named in another case with a dot"
assert_eq 0 "$RC" "a host: exit 0"
status nosuch
assert_eq "nosuch: no group or host of that name in $DAEMON_CONF" "$OUT" "an unknown name"
assert_eq 1 "$RC" "an unknown name: exit 1"
assert_eq "[\"a.vendor.test\",\"n.vendor.test\"] [2,0] false" \
        "$("$ALLOWLISTD" -c "$DAEMON_CONF" --status --json ga | jq -c -j '[.groups[0].hosts[].name], " ", [.groups[0].hosts[].addresses | length], " ", .groups[0].hosts[0].failing')" \
        "JSON of a group"

# Without CAP_NET_ADMIN the kernel cannot be asked: the records answer, and say so.
if command -v setpriv >/dev/null; then
        pub="$(mktemp -d /tmp/allowlistd-status.XXXXXXXX)"
        at_exit "rm -rf '$pub'"
        chmod 755 "$pub"
        cp "$TEST_DIR/state" "$pub/state"
        sed "s|^state_file = .*|state_file = $pub/state|" "$DAEMON_CONF" >"$pub/allowlistd.conf"
        chmod 644 "$pub/state" "$pub/allowlistd.conf"
        RC=0
        OUT="$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
                "$ALLOWLISTD" -c "$pub/allowlistd.conf" --status 192.0.2.1 | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC/TIME/g; s/\(([0-9]+[dhms])+ left\)/(DUR left)/')" || RC=$?
        assert_eq "192.0.2.1: allowed: as recorded; the kernel's sets could not be read
  group ga (tcp/443 udp/3478-3479): host a.vendor.test, allowed since TIME, last in DNS TIME, until TIME (DUR left)
  group ga (tcp/443 udp/3478-3479): static 192.0.2.1, no expiry
  kernel: set inet allowlistd ga_v4: cannot read it (needs CAP_NET_ADMIN)" "$OUT" "unprivileged: the records, and why not the kernel"
        assert_eq 0 "$RC" "unprivileged: exit 0 on the records"
fi

# Stopped, its element's timeout runs out in the kernel and its record in the state file.
daemon_stop
_b_gone() { [[ -z "$(set_elements inet allowlistd gb_v4)" ]]; }
wait_until 10 _b_gone || fail "198.51.100.2 did not time out in the kernel"
status 198.51.100.2
assert_eq "198.51.100.2: not allowed: its validity ran out or its group or host is no longer configured
  group gb (tcp/80): host b.vendor.test, allowed from TIME, last in DNS TIME, expired TIME (DUR ago)
  kernel: set inet allowlistd gb_v4: no element" "$OUT" "an expired address"
assert_eq 1 "$RC" "expired: exit 1"

# Allowed by the records but not by the kernel (someone flushed the set while allowlistd is down).
nft flush set inet allowlistd ga_v6
status 2001:db8::1
assert_eq "2001:db8::1: not allowed: the kernel's sets do not hold it (is allowlistd running?)
  group ga (tcp/443 udp/3478-3479): host a.vendor.test, allowed since TIME, last in DNS TIME, until TIME (DUR left)
  kernel: set inet allowlistd ga_v6: no element" "$OUT" "recorded but not in the kernel"
assert_eq 1 "$RC" "not in the kernel: exit 1"
