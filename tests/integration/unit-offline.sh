#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The unit suite needs no network: it passes in a network namespace whose loopback is down,
# as a packager's isolated build has it (`unshare -n meson test --suite unit`).
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${BUILDDIR:?}"

[[ "$(id -u)" == 0 ]] || skip "needs root (unshare -n)"
command -v unshare >/dev/null || skip "needs unshare"
unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n)"

# shellcheck disable=SC2016
out="$(unshare -n -- bash -c '
        ip -o link show lo | grep -q "state DOWN" || { echo "loopback is not down"; exit 99; }
        exec meson test -C "$1" --suite unit --no-rebuild --logbase unit-offline --print-errorlogs
' unit-offline "$BUILDDIR" 2>&1)" && rc=0 || rc=$?
if (( rc != 0 )); then
        printf '%s\n' "$out" >&2
        fail "the unit suite failed without a network (exit $rc)"
fi
assert_match "Fail: +0" "$out" "no unit test failed without a network"
assert_eq 0 "$(grep -cE '^ *[0-9]+/[0-9]+ .* (SKIP|FAIL|TIMEOUT|ERROR) ' <<<"$out" || true)" "none skipped either"
