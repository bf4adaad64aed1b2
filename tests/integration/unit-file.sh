#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped unit: `systemd-analyze security --offline=true` rates its exposure 2.0 or lower,
# and `systemd-analyze verify` has nothing to say about it. No root needed.
set -euo pipefail

if ! command -v systemd-analyze >/dev/null; then
        echo "systemd-analyze not available: skipping"
        exit 77
fi

unit=$BUILDDIR/systemd/allowlistd.service
# The same template configured with the build directory's binary, because verify checks that
# ExecStart= exists (tests/integration/meson.build makes it).
verify_unit=$BUILDDIR/tests/integration/allowlistd.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# Every @VARIABLE@ was substituted.
if grep -nE '@[A-Z_]+@' "$unit"; then
        fail "unsubstituted variable in $unit"
fi
grep -qx "ExecStart=/.*/allowlistd" "$unit" || fail "no absolute ExecStart= in $unit"
grep -qx "ExecStart=$BUILDDIR/src/allowlistd" "$verify_unit" || fail "$verify_unit does not run the built binary"
# The reload waits for the daemon's verdict (allowlistd --reload), never a bare signal.
grep -qx 'ExecReload=/.*/allowlistd --reload \$MAINPID' "$unit" || fail "ExecReload= of $unit is not allowlistd --reload \$MAINPID"
# Apart from the binary's path the unit verified is the unit shipped.
diff <(grep -vE '^Exec(Start|Reload)=' "$unit") <(grep -vE '^Exec(Start|Reload)=' "$verify_unit") ||
        fail "verify copy differs"

# --- security exposure -------------------------------------------------------------------
security=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || {
        echo "$security"
        fail "systemd-analyze security failed"
}
score=$(sed -n 's/^.*Overall exposure level for allowlistd\.service: \([0-9][0-9.]*\) .*$/\1/p' <<<"$security")
[[ -n $score ]] || { echo "$security"; fail "no overall exposure level in the output"; }
echo "systemd-analyze security: exposure $score"
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        grep '✗' <<<"$security" || true
        fail "exposure $score is above 2.0"
fi

# --- verify --------------------------------------------------------------------------------
# Documentation= names man pages; let man(1) find ours from the source tree.
mkdir -p "$tmp/man/man5" "$tmp/man/man8"
ln -s "$SRCDIR/man/allowlistd.8" "$tmp/man/man8/allowlistd.8"
ln -s "$SRCDIR/man/allowlistd.conf.5" "$tmp/man/man5/allowlistd.conf.5"
# Only our unit: the host's other units are not this test's business.
rc=0
verify=$(MANPATH=$tmp/man systemd-analyze verify --recursive-errors=no "$verify_unit" 2>&1) || rc=$?
if [[ $rc -ne 0 || -n $verify ]]; then
        echo "$verify"
        fail "systemd-analyze verify exited $rc and printed the above"
fi
echo "systemd-analyze verify: clean"
