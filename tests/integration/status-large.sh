#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# allowlistd --status ADDRESS and --status HOST on a state file of 1,000,000 address records (as
# large as a state file may be): the exact text for an address two groups have, one that expired,
# an unknown one and a host, and peak RSS (GNU time's maximum resident set size) under 40 MiB,
# where reading the whole file into memory takes over 300 MiB. No daemon runs: the kernel has
# no sets, which the output says.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
export TZ=UTC

[[ -x /usr/bin/time ]] || skip "needs GNU time (/usr/bin/time, Debian package time)"
STATE="$TEST_DIR/state"
daemon_config "[daemon]
dns_servers = 127.0.0.1:53
state_file = $STATE

[a]
hosts = x.t h0.t
allow = tcp/443
validity = 2h
refresh = 1h

[b]
hosts = h1.t
allow = tcp/80
validity = 2h
refresh = 1h"

# 2030-01-01 00:00:00 UTC and 2020-01-01 00:00:00 UTC, in usec.
FUTURE=1893456000000000
PAST=1577836800000000
# Short names keep 10^6 records under the 64 MiB cap; the records the queries look for sit in
# the middle and at the end of the file.
awk -v future="$FUTURE" -v later="$((FUTURE + 3600000000))" -v past="$PAST" -v expired="$((PAST + 7200000000))" 'BEGIN {
        for (k = 0; k < 499998; k++) {
                printf "%c h%d.t 198.%d.%d.%d %s %s\n", 97 + k % 20, k % 2000, 18 + int(k / 65536), int(k / 256) % 256, k % 256, future, past
                printf "%c h%d.t 2001:db8:%x::%x %s %s\n", 97 + k % 20, k % 2000, int(k / 65536) + 1, k % 65536, future, past
                if (k == 250000) {
                        printf "a x.t 192.0.2.1 %s %s\n", future, past
                        printf "b h1.t 192.0.2.1 %s %s\n", later, past
                }
        }
        printf "a x.t 2001:db8:ffff::1 %s %s\n", expired, past
        printf "a h0.t 192.0.2.7 %s %s\n", future, past
}' | "$STATE_WRITE" "$STATE"
assert_eq 1000000 "$(grep -c '^address ' "$STATE")" "records in the state file"
echo "state file: 1000000 address records, $(stat -c %s "$STATE") bytes"

# Under AddressSanitizer the shadow memory makes peak RSS meaningless: reported, not asserted.
SANITIZED=0
ldd "$ALLOWLISTD" 2>/dev/null | grep -q 'libasan' && SANITIZED=1
LIMIT_KB=40960

# status ARGS...: the output in OUT (durations replaced by DUR), the exit code in RC, peak RSS
# checked.
status() {
        local out kb
        RC=0
        out="$(/usr/bin/time -f %M -o "$TEST_DIR/rss" "$ALLOWLISTD" -c "$DAEMON_CONF" --status "$@")" || RC=$?
        OUT="$(sed -E 's/\(([0-9]+[dhms])+ (left|ago)\)/(DUR \2)/g' <<<"$out")"
        kb="$(tail -n 1 "$TEST_DIR/rss")"
        if (( kb < LIMIT_KB )); then
                echo "ok: --status $*: peak RSS $kb kB < $LIMIT_KB kB"
        elif (( SANITIZED )); then
                echo "ok: --status $*: peak RSS $kb kB (not checked against $LIMIT_KB kB under AddressSanitizer)"
        else
                fail "--status $*: peak RSS $kb kB, more than $LIMIT_KB kB"
        fi
}

status 192.0.2.1
assert_eq "192.0.2.1: allowed: as recorded; the kernel's sets could not be read
  group a (tcp/443): host x.t, allowed since 2020-01-01 00:00:00 UTC, last in DNS 2020-01-01 00:00:00 UTC, until 2030-01-01 00:00:00 UTC (DUR left)
  group b (tcp/80): host h1.t, allowed since 2020-01-01 00:00:00 UTC, last in DNS 2020-01-01 00:00:00 UTC, until 2030-01-01 01:00:00 UTC (DUR left)
  kernel: set inet allowlistd a_v4: no such set
  kernel: set inet allowlistd b_v4: no such set" "$OUT" "an address of two groups"
assert_eq 0 "$RC" "allowed: exit 0"

status 2001:db8:ffff::1
assert_eq "2001:db8:ffff::1: not allowed: its validity ran out or its group or host is no longer configured
  group a (tcp/443): host x.t, allowed from 2020-01-01 00:00:00 UTC, last in DNS 2020-01-01 00:00:00 UTC, expired 2020-01-01 02:00:00 UTC (DUR ago)
  kernel: set inet allowlistd a_v6: no such set" "$OUT" "an expired address at the end of the file"
assert_eq 1 "$RC" "expired: exit 1"

status 203.0.113.9
assert_eq "203.0.113.9: not allowed: no group has it" "$OUT" "an unknown address"
assert_eq 1 "$RC" "unknown: exit 1"

status X.T.
assert_eq "group a (tcp/443; validity 2h)
  host x.t: not resolved yet
    192.0.2.1 allowed since 2020-01-01 00:00:00 UTC, until 2030-01-01 00:00:00 UTC (DUR left)
    2001:db8:ffff::1 allowed from 2020-01-01 00:00:00 UTC, expired 2020-01-01 02:00:00 UTC (DUR ago)" "$OUT" "a host"
assert_eq 0 "$RC" "a host: exit 0"
echo "ok"
