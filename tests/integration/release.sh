#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A shippable release: `meson dist` makes a tarball of the committed tree (with LICENSE and
# NEWS, without .git); from it, without network access (unshare -n), a clean build passes the
# unit tests; and a second build of the same tarball in another directory, at another depth and
# with its build directory outside the source, installs byte-identical files: binary, man
# pages and everything else (no build path, no build time in them).
source "$(dirname "$0")/lib.sh"
: "${SRCDIR:?SRCDIR must name the source tree}"

command -v git >/dev/null || skip "needs git"
# meson dist wants the source root itself to be a checkout (.git a directory, or a file in a
# worktree); an unpacked tarball is none.
[[ -e "$SRCDIR/.git" ]] && git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1 ||
        skip "$SRCDIR is not a git checkout: meson dist needs one"
if [[ "$(id -u)" == 0 ]]; then
        NO_NET=(unshare -n --)
elif unshare -r -n true 2>/dev/null; then
        NO_NET=(unshare -r -n --)
else
        skip "cannot drop network access (unshare -n needs root or user namespaces)"
fi

TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/allowlistd-release.XXXXXXXX")"
trap _run_at_exit EXIT

# meson dist packs HEAD: uncommitted changes are not in the tarball (--allow-dirty says so).
meson setup "$TEST_DIR/dist" "$SRCDIR" >"$TEST_DIR/dist.log" 2>&1 || fail "meson setup for dist: $(tail "$TEST_DIR/dist.log")"
meson dist -C "$TEST_DIR/dist" --no-tests --allow-dirty --formats xztar >>"$TEST_DIR/dist.log" 2>&1 ||
        fail "meson dist: $(tail "$TEST_DIR/dist.log")"
version="$(meson introspect --projectinfo "$TEST_DIR/dist" | jq -r .version)"
tarball="$TEST_DIR/dist/meson-dist/allowlistd-$version.tar.xz"
test -s "$tarball" || fail "no $tarball"
echo "ok: meson dist made $(basename "$tarball") ($(stat -c %s "$tarball") bytes)"

listing="$(tar -tJf "$tarball")"
for f in LICENSE NEWS README.md meson.build src/main.c man/allowlistd.8 systemd/allowlistd.service.in; do
        grep -qx "allowlistd-$version/$f" <<<"$listing" || fail "the tarball lacks $f"
done
assert_eq "" "$(grep -E '(^|/)\.git(/|$)' <<<"$listing" || true)" "no .git in the tarball"
cmp -s /usr/share/common-licenses/GPL-2 <(tar -xJOf "$tarball" "allowlistd-$version/LICENSE") ||
        [[ ! -e /usr/share/common-licenses/GPL-2 ]] || fail "LICENSE is not the GPL-2 text"
echo "ok: the tarball holds the sources, LICENSE and NEWS"

mkdir -p "$TEST_DIR/one" "$TEST_DIR/two/a/b"
tar -xJf "$tarball" -C "$TEST_DIR/one"
tar -xJf "$tarball" -C "$TEST_DIR/two/a/b"

# build SOURCE BUILD DESTDIR [unit]: configure, compile and install without network access.
build() {
        local src="$1" out="$2" dest="$3" log="$2.log"
        # No network at all, loopback down too: the unit suite needs none (unit-offline.sh).
        "${NO_NET[@]}" bash -c '
                set -e
                meson setup "$2" "$1" --werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var
                meson compile -C "$2"
                if [[ "$4" == unit ]]; then meson test -C "$2" --suite unit --print-errorlogs; fi
                DESTDIR="$3" meson install -C "$2" --no-rebuild
        ' build "$src" "$out" "$dest" "${4:-}" >"$log" 2>&1 || fail "build in $out: $(tail -n 30 "$log")"
}
build "$TEST_DIR/one/allowlistd-$version" "$TEST_DIR/one/allowlistd-$version/build" "$TEST_DIR/root-one" unit
echo "ok: built without network access, unit tests pass: $(grep -E '^Ok: ' "$TEST_DIR/one/allowlistd-$version/build.log" | tr -s ' ')"
build "$TEST_DIR/two/a/b/allowlistd-$version" "$TEST_DIR/two/out" "$TEST_DIR/root-two"
echo "ok: built again in another directory"

test -x "$TEST_DIR/root-one/usr/sbin/allowlistd" || fail "nothing installed at usr/sbin/allowlistd"
assert_eq "" "$(diff -r "$TEST_DIR/root-one" "$TEST_DIR/root-two" 2>&1 || true)" "both installs are identical"
for f in usr/sbin/allowlistd usr/share/man/man8/allowlistd.8 usr/share/man/man5/allowlistd.conf.5; do
        cmp "$TEST_DIR/root-one/$f" "$TEST_DIR/root-two/$f" || fail "$f differs"
done
echo "ok: binary and man pages byte-identical"
assert_eq "" "$(grep -lr -e "$TEST_DIR" "$TEST_DIR/root-one" || true)" "no build path in any installed file"
