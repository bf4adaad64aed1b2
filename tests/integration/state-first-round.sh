#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The first round of queries writes the state file once, at its end (before READY=1), however
# many answers come in before: with a restored state of a million records, a save mid-round
# would write 64 MiB once more before the daemon is ready. The daemon runs under strace, which
# counts its renames of the state file into place.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"
require_strace

HOSTS=400
for (( i = 0; i < HOSTS; i++ )); do
        printf '198.51.%d.%d h%d.vendor.test\n' $(( i / 250 )) $(( i % 250 + 1 )) "$i"
done | dns_write_zone
dns_start

daemon_config "$(
        printf '[daemon]\ndns_servers = %s\nstate_file = %s/state\n\n[bulk]\nallow = tcp/443\nrefresh = 30m\nhosts =\n' \
                "$DNS_SERVERS" "$TEST_DIR"
        for (( i = 0; i < HOSTS; i++ )); do printf '        h%d.vendor.test\n' "$i"; done
)"

DAEMON_WRAPPER=(strace -f -qq -e trace=rename,renameat,renameat2 -o "$TEST_DIR/renames")
daemon_start
saves="$(grep -c "\"$TEST_DIR/state\"" "$TEST_DIR/renames" || true)"
n="$(set_elements inet allowlistd bulk_v4 | wc -l)"
daemon_stop
assert_eq "$HOSTS" "$n" "every answer of the first round in the kernel at READY=1"
assert_eq 1 "$saves" "state file saves until READY=1 (one, at the end of the first round)"
echo "ok: $HOSTS answers in the first round, one save"
