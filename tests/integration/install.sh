#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `meson install --destdir` puts exactly the expected files where the build options say, with
# modes the unit's transient user can read. No root needed.
set -euo pipefail

for tool in meson jq; do
        if ! command -v "$tool" >/dev/null; then
                echo "$tool not available: skipping"
                exit 77
        fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

meson install -C "$BUILDDIR" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 || {
        cat "$tmp/install.log"
        fail "meson install failed"
}

options=$(meson introspect --buildoptions "$BUILDDIR")
option() {
        jq -r --arg name "$1" '.[] | select(.name == $name) | .value' <<<"$options"
}
prefix=$(option prefix)
# Meson's directory options are relative to the prefix unless absolute (with prefix /usr,
# sysconfdir is /etc), which is how meson.build joins them.
dir_option() {
        local v
        v=$(option "$1")
        case $v in
        /*) echo "$v" ;;
        *) echo "$prefix/$v" ;;
        esac
}
sbindir=$(dir_option sbindir)
sysconfdir=$(dir_option sysconfdir)
datadir=$(dir_option datadir)
mandir=$(dir_option mandir)
unitdir=$(option systemdsystemunitdir)
if [[ -z $unitdir ]]; then
        unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
        [[ -n $unitdir ]] || unitdir=$prefix/lib/systemd/system
fi
productdir=$datadir/allowlistd/products

# Exactly these files outside the product directory, nothing else.
expected=$(printf '%s\n' \
        "$sbindir/allowlistd" \
        "$unitdir/allowlistd.service" \
        "$sysconfdir/allowlistd/allowlistd.conf" \
        "$mandir/man8/allowlistd.8" \
        "$mandir/man5/allowlistd.conf.5" | sort)
actual=$(cd "$root" && find . \( -type f -o -type l \) -printf '/%P\n' | grep -v "^$productdir/" | sort)
if [[ $expected != "$actual" ]]; then
        diff <(echo "$expected") <(echo "$actual") || true
        fail "installed files differ from the expected layout (< expected, > installed)"
fi

# Product profiles: a directory of *.conf files (the .keep placeholder aside).
[[ -d $root$productdir ]] || fail "no $productdir"
while IFS= read -r -d '' f; do
        case ${f##*/} in
        *.conf | .keep) ;;
        *) fail "unexpected file in $productdir: $f" ;;
        esac
        [[ -f $f && ! -L $f ]] || fail "$f is not a regular file"
done < <(find "$root$productdir" -mindepth 1 -print0)

# Modes: the daemon runs as a transient user (DynamicUser=yes) and must read its
# configuration and profiles; nothing is writable by others.
mode() { stat -c '%a' "$root$1"; }
[[ $(mode "$sbindir/allowlistd") == 755 ]] || fail "allowlistd mode $(mode "$sbindir/allowlistd")"
for f in "$unitdir/allowlistd.service" "$sysconfdir/allowlistd/allowlistd.conf" \
         "$mandir/man8/allowlistd.8" "$mandir/man5/allowlistd.conf.5"; do
        [[ $(mode "$f") == 644 ]] || fail "$f mode $(mode "$f")"
done
if found=$(find "$root" -perm -o+w ! -type l | grep .); then
        echo "$found"
        fail "world-writable files installed"
fi

# The installed unit runs the installed binary and names the installed configuration.
grep -qx "ExecStart=$sbindir/allowlistd" "$root$unitdir/allowlistd.service" ||
        fail "the unit's ExecStart= is not $sbindir/allowlistd"
grep -qF "$sysconfdir/allowlistd/allowlistd.conf" "$root$unitdir/allowlistd.service" ||
        fail "the unit does not name $sysconfdir/allowlistd/allowlistd.conf"
echo "installed layout (prefix $prefix):"
(cd "$root" && find . \( -type f -o -type l \) -printf '  /%P\n' | sort)
