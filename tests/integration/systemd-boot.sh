#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The installed unit under the real systemd as PID 1: this machine's root, overlaid on a tmpfs
# (nothing of the host changes), with `meson install` into it and a configuration of static
# addresses, booted with systemd-nspawn in a network namespace of its own. Inside, a one-shot
# service runs the checks and powers the container off:
#   `systemctl start allowlistd` leaves it active (running), as a dynamic user, with exactly
#   CAP_NET_ADMIN effective and a seccomp filter; its set holds the static address;
#   `systemctl reload` succeeds for a good file (its new set is there when it returns) and fails
#   for a bad one (FILE:LINE in the journal) and for one the kernel refuses;
#   `nft flush ruleset` is repaired; the watchdog keeps it running well past WatchdogSec;
#   `systemctl stop` leaves the sets (on_exit=keep).
# Skipped (77), saying why, where a container cannot boot.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

command -v systemd-nspawn >/dev/null || skip "needs systemd-nspawn (package systemd-container)"
[[ -x /lib/systemd/systemd ]] || skip "no systemd on this machine to boot"
command -v meson >/dev/null || skip "needs meson (to install into the container's tree)"
sanitize=$(meson introspect --buildoptions "$BUILDDIR" | jq -r '.[] | select(.name == "b_sanitize") | .value')
[[ $sanitize == none ]] ||
        skip "a b_sanitize=$sanitize build: the unit's sandbox (seccomp, MemoryDenyWriteExecute=) is not for sanitizer runtimes"

# The host's root, read-only below a writable tmpfs, in this test's own mount namespace.
ns=$TEST_DIR/ns
mkdir "$ns"
mount -t tmpfs -o mode=755 tmpfs "$ns" || skip "cannot mount a tmpfs"
# Before TEST_DIR is removed: never walk the overlaid root.
at_exit 'umount -l "$ns/root" 2>/dev/null; umount -l "$ns"'
mkdir "$ns/upper" "$ns/work" "$ns/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$ns/upper,workdir=$ns/work" "$ns/root" ||
        skip "cannot overlay the root file system (overlayfs)"
root=$ns/root

meson install -C "$BUILDDIR" --destdir "$root" --no-rebuild --quiet >"$TEST_DIR/install.log" 2>&1 ||
        fail "meson install failed: $(cat "$TEST_DIR/install.log")"
unit=$(cd "$root" && find lib/systemd/system usr/lib/systemd/system usr/local/lib/systemd/system \
        -name allowlistd.service 2>/dev/null | head -n 1) || true
[[ -n $unit ]] || fail "meson install put no allowlistd.service where systemd looks"
conf=$(sed -n 's/^# Configuration: \(.*\) (see .*$/\1/p' "$root/$unit")
[[ -n $conf ]] || fail "no configuration path in $unit"

# Static addresses only: nothing depends on DNS inside the container.
cat >"$root/$conf" <<'EOF'
[gs]
addresses = 198.51.100.7
allow = tcp/22
EOF
cp "$root/$conf" "$root/$conf.good"
printf '%s\n' '[gs]' 'addresses = 198.51.100.7' 'allow = tcp/22' '' '[gt]' 'addresses = 203.0.113.9' 'allow = tcp/443' \
        >"$root/$conf.reload"
printf '%s\n' '[gs]' 'addresses = 198.51.100.7' 'allow = tcp/99999' >"$root/$conf.bad"
printf '%s\n' '[gs]' 'addresses = 198.51.100.7' 'allow = tcp/22' '' '[gx]' 'addresses = 192.0.2.77' 'allow = tcp/80' \
        >"$root/$conf.refused"

# A short watchdog, so that surviving it is seen within the test's time.
watchdog=2
mkdir -p "$root/etc/systemd/system/allowlistd.service.d"
printf '[Service]\nWatchdogSec=%ss\n' "$watchdog" >"$root/etc/systemd/system/allowlistd.service.d/test.conf"

mkdir -p "$root/out"
cat >"$root/usr/local/libexec-allowlistd-test.sh" <<EOF
#!/bin/bash
# Runs inside the container; every line of /out/result is "ok: ..." or "FAIL: ...".
conf=$conf
exec >/out/result 2>&1
ok() { echo "ok: \$*"; }
bad() { echo "FAIL: \$*"; }
check() { local what=\$1; shift; if "\$@"; then ok "\$what"; else bad "\$what"; fi; }
prop() { systemctl show -P "\$1" allowlistd; }
elements() { nft -j list set inet allowlistd "\$1" 2>/dev/null | jq -r '.nftables[] | select(.set) | .set.elem // [] | .[]' | sort; }
until_true() { local i; for i in \$(seq 100); do "\$@" && return 0; sleep 0.1; done; return 1; }

check "systemctl start" systemctl start allowlistd
check "active (running)" test "\$(prop ActiveState) \$(prop SubState)" = "active running"
pid=\$(prop MainPID)
uid=\$(awk '/^Uid:/ { print \$3 }' /proc/\$pid/status)
check "a dynamic user (uid \$uid)" test "\$uid" -ge 61184 -a "\$uid" -le 65519
check "CapEff exactly CAP_NET_ADMIN (\$(awk '/^CapEff:/ { print \$2 }' /proc/\$pid/status))" \
        test "\$(awk '/^CapEff:/ { print \$2 }' /proc/\$pid/status)" = 0000000000001000
check "Seccomp 2" test "\$(awk '/^Seccomp:/ { print \$2 }' /proc/\$pid/status)" = 2
check "the static address is in gs_v4" test "\$(elements gs_v4)" = 198.51.100.7

cp \$conf.reload \$conf
check "systemctl reload, a good file" systemctl reload allowlistd
check "its new set is there when systemctl returns" test "\$(elements gt_v4)" = 203.0.113.9
cp \$conf.bad \$conf
check "systemctl reload, an invalid file: fails" bash -c '! systemctl reload allowlistd'
# Not `journalctl -u`: ExecReload's process may exit before journald reads its line, and then
# journald cannot tell which unit the line came from; the line itself is always there.
check "the journal has FILE:LINE" until_true bash -c "journalctl -o cat | grep -q '^\$conf:3: port out of range'"
nft add set inet allowlistd gx_v4 '{ type ipv6_addr; }'
cp \$conf.refused \$conf
check "systemctl reload, a transaction the kernel refuses: fails" bash -c '! systemctl reload allowlistd'
check "the journal names the set" until_true bash -c "journalctl -u allowlistd -o cat | grep -q 'Rejected the new configuration .*set inet allowlistd gx_v4'"
nft delete set inet allowlistd gx_v4
check "still active after the rejected reloads" test "\$(prop ActiveState)" = active
cp \$conf.reload \$conf

nft flush ruleset
check "nft flush ruleset repaired" until_true bash -c 'test "\$(nft -j list set inet allowlistd gs_v4 2>/dev/null | jq -r ".nftables[] | select(.set) | .set.elem // [] | .[]")" = 198.51.100.7'

sleep $((watchdog * 3))
check "alive after 3 x WatchdogSec=${watchdog}s (same PID, no restart)" \
        test "\$(prop MainPID) \$(prop NRestarts) \$(prop ActiveState)" = "\$pid 0 active"

check "systemctl stop" systemctl stop allowlistd
check "stopped cleanly" test "\$(prop Result)" = success
check "the sets stay (on_exit=keep)" test "\$(elements gs_v4) \$(elements gt_v4)" = "198.51.100.7 203.0.113.9"
grep -q '^FAIL' /out/result && { echo "--- journalctl -u allowlistd"; journalctl -u allowlistd -o cat | tail -n 25; }
echo done
EOF
chmod 755 "$root/usr/local/libexec-allowlistd-test.sh"
cat >"$root/etc/systemd/system/allowlistd-test.service" <<'EOF'
[Unit]
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/libexec-allowlistd-test.sh
ExecStopPost=/bin/systemctl poweroff --no-block
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -s /etc/systemd/system/allowlistd-test.service "$root/etc/systemd/system/multi-user.target.wants/"
# No getty or other noise; the machine's own services are not this test's business.
ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"

rc=0
timeout 110 systemd-nspawn --quiet --private-network --register=no --keep-unit --boot --directory="$root" \
        >"$TEST_DIR/boot.log" 2>&1 || rc=$?
if [[ ! -s $root/out/result ]]; then
        tail -n 30 "$TEST_DIR/boot.log"
        (( rc != 124 )) || fail "the container did not power off within 110 s"
        skip "the container did not boot far enough to run the checks (systemd-nspawn exited $rc)"
fi
cat "$root/out/result"
grep -q '^FAIL' "$root/out/result" && fail "$(grep -c '^FAIL' "$root/out/result") check(s) failed inside the container"
grep -qx done "$root/out/result" || fail "the checks did not finish: $(tail -n 3 "$root/out/result")"
echo OK
