# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Sourced by every integration test (bash). Gives each test:
#
#   require_root_netns "$@"   first thing in the test: exit 77 (skipped) without root, unshare
#                             or nf_tables; else re-runs the script once in new network and
#                             mount namespaces (unshare -n -m) with lo up, and sets up TEST_DIR.
#   TEST_DIR                  a private temp dir, removed on exit.
#   at_exit COMMAND...        runs COMMAND on exit (last registered first).
#   fail MESSAGE              prints "FAIL: MESSAGE" and exits 1.
#   skip MESSAGE              prints "SKIP: MESSAGE" and exits 77.
#   assert_eq EXPECTED ACTUAL WHAT
#   assert_match REGEX ACTUAL WHAT
#   wait_until SECONDS COMMAND...   polls COMMAND every 50 ms; returns 1 on timeout.
#   require_strace            exit 77 unless strace can trace (and so inject faults) here.
#   use_resolv_conf TEXT      bind-mounts a file with TEXT over /etc/resolv.conf (private
#                             mount namespace: the host's file is untouched).
#
#   dnsmasq on 127.0.0.1:53, serving the zone file DNS_ZONE (hosts-file format, "ADDR NAME"):
#   dns_start                 starts it (in the foreground, as a background job of the test)
#                             and waits until it has read the zone; names under DNS_DOMAIN
#                             ("test") that are not in the zone get NXDOMAIN, names elsewhere
#                             REFUSED (there is no upstream server).
#   dns_set NAME [ADDR...]    replaces NAME's addresses in the zone (none: removes NAME).
#   dns_write_zone            replaces the whole zone with stdin.
#   dns_reload                SIGHUP: dnsmasq re-reads the zone; waits until it has.
#   dns_cname ALIAS TARGET [TTL]   adds a CNAME. dnsmasq only takes --cname on its command
#                             line, so if it is running this RESTARTS it (port 53 is briefly
#                             closed). Call it before dns_start where you can.
#   dns_stop                  stops it (SIGTERM) and waits for it to exit.
#   dns_query_count NAME      how many queries for NAME dnsmasq has logged.
#
#   Settings, to change before dns_start: DNS_TTL (TTL of the zone's A/AAAA records, 300),
#   DNS_LOG_QUERIES (1: log every query to DNS_LOG), DNS_EXTRA_ARGS (array, more dnsmasq options).
#   DNS_SERVERS is the c-ares CSV for it ("127.0.0.1:53"); DNS_LOG its log file.
#
#   The daemon (the real allowlistd, $ALLOWLISTD):
#   daemon_config TEXT        writes TEXT to DAEMON_CONF ($TEST_DIR/allowlistd.conf).
#   daemon_start [ARGS...]    starts it in the background with a NOTIFY_SOCKET the test owns
#                             (messages in NOTIFY_LOG), stderr in DAEMON_LOG; waits for READY=1.
#   daemon_stop [SIGNAL]      signals it (TERM) and waits; its exit code is in DAEMON_RC.
#   DAEMON_WRAPPER            array, empty by default: a command daemon_start runs the daemon
#                             under (strace -f ... to inject faults), which must exit with the
#                             daemon's status; DAEMON_PID is then the wrapper's, and daemon_stop
#                             signals the daemon itself (whatever DAEMON_WRAPPER holds by then).
#   set_elements FAMILY TABLE SET   the set's elements as nft -j shows them, sorted, one a line
#                             (addresses, PREFIX/LEN for prefixes); nothing when it is empty.
#   set_timeouts FAMILY TABLE SET   "ELEMENT TIMEOUT EXPIRES" lines ("-" where there is none).
#
#   journald's side of the native protocol (sd_journal_send):
#   journal_listen            mounts a private dir over /run/systemd/journal (in the test's own
#                             mount namespace: the host's journal is untouched), binds a datagram
#                             socket at its "socket" that appends every datagram to JOURNAL_LOG,
#                             creates DAEMON_LOG and exports JOURNAL_STREAM as its DEV:INODE (what
#                             systemd sets), so a daemon_start after it logs to this journal.
#   journal_records           JOURNAL_LOG as one record a line, fields joined by TABs (a record
#                             starts at each PRIORITY= field: allowlistd sends it first).
#
# Everything stays in the test's own network namespace: the only DNS server is on its loopback.

set -euo pipefail

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

skip() {
        echo "SKIP: $*" >&2
        exit 77
}

assert_eq() {
        local expected="$1" actual="$2" what="$3"
        if [[ "$expected" != "$actual" ]]; then
                printf 'FAIL: %s\n--- expected\n%s\n--- actual\n%s\n---\n' "$what" "$expected" "$actual" >&2
                exit 1
        fi
        echo "ok: $what"
}

assert_match() {
        local regex="$1" actual="$2" what="$3"
        if ! [[ "$actual" =~ $regex ]]; then
                printf 'FAIL: %s\n--- expected to match\n%s\n--- actual\n%s\n---\n' "$what" "$regex" "$actual" >&2
                exit 1
        fi
        echo "ok: $what"
}

wait_until() {
        local timeout="$1"; shift
        local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
        until "$@"; do
                if (( $(date +%s%N) >= deadline )); then
                        echo "wait_until: gave up after ${timeout}s: $*" >&2
                        return 1
                fi
                sleep 0.05
        done
}

_AT_EXIT=()
at_exit() {
        _AT_EXIT+=("$*")
}

_run_at_exit() {
        local rc=$? i
        set +e
        for (( i = ${#_AT_EXIT[@]} - 1; i >= 0; i-- )); do
                eval "${_AT_EXIT[i]}"
        done
        if [[ -n "${TEST_DIR:-}" && -d "$TEST_DIR" ]]; then
                # On failure, show what dnsmasq saw: it is usually the quickest explanation.
                if (( rc != 0 && rc != 77 )) && [[ -s "$TEST_DIR/dnsmasq.log" ]]; then
                        echo "--- last lines of dnsmasq.log" >&2
                        tail -n 30 "$TEST_DIR/dnsmasq.log" >&2
                fi
                rm -rf "$TEST_DIR"
        fi
        exit "$rc"
}

require_root_netns() {
        if [[ -z "${ALLOWLISTD_TEST_IN_NETNS:-}" ]]; then
                [[ "$(id -u)" == 0 ]] || skip "needs root"
                command -v unshare >/dev/null || skip "needs unshare"
                command -v ip >/dev/null || skip "needs ip (iproute2)"
                command -v nft >/dev/null || skip "needs nft"
                unshare -n -m true 2>/dev/null || skip "cannot create namespaces (unshare -n -m)"
                export ALLOWLISTD_TEST_IN_NETNS=1
                # A private mount namespace too, so use_resolv_conf can bind-mount without
                # touching the host (unshare makes mounts private by default).
                exec unshare -n -m -- bash "$0" "$@"
        fi
        ip link set lo up
        # nf_tables in this fresh namespace: an empty ruleset lists fine when the kernel has it.
        nft list ruleset >/dev/null 2>&1 || skip "no nf_tables in the kernel"

        TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/allowlistd-test.XXXXXXXX")"
        trap _run_at_exit EXIT
        # A reader that goes away (tests/demo.sh | head) or a closed terminal must clean up too.
        trap 'exit 130' INT TERM HUP PIPE
        DNS_ZONE="$TEST_DIR/zone.hosts"
        DNS_LOG="$TEST_DIR/dnsmasq.log"
        : >"$DNS_ZONE"
}

require_strace() {
        command -v strace >/dev/null || skip "needs strace"
        strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace refused)"
}

use_resolv_conf() {
        printf '%s\n' "$1" >"$TEST_DIR/resolv.conf"
        mount --bind "$TEST_DIR/resolv.conf" /etc/resolv.conf || fail "cannot bind-mount over /etc/resolv.conf"
}

# --- dnsmasq --------------------------------------------------------------------------------

DNS_ADDRESS=127.0.0.1
DNS_PORT=53
DNS_SERVERS="$DNS_ADDRESS:$DNS_PORT"
DNS_DOMAIN=test
DNS_TTL=300
DNS_LOG_QUERIES=1
DNS_EXTRA_ARGS=()
DNS_PID=
_DNS_CNAMES=()

_dns_zone_reads() {
        # dnsmasq logs "read FILE - N names" (or "... N addresses") each time it loads the zone.
        local n
        n="$(grep -c -F "read $DNS_ZONE " "$DNS_LOG" 2>/dev/null)" || true
        echo "${n:-0}"
}

_dns_listening() {
        [[ -n "$(ss -Hlun "sport = :$DNS_PORT")" ]]
}

dns_start() {
        local args=(
                --keep-in-foreground
                --user=root --group=root       # TEST_DIR is 0700: stay root to re-read the zone
                --no-resolv --no-hosts --no-poll
                --bind-interfaces --listen-address="$DNS_ADDRESS" --port="$DNS_PORT"
                --addn-hosts="$DNS_ZONE"
                --local="/$DNS_DOMAIN/"        # authoritative-like: unknown names get NXDOMAIN
                --local-ttl="$DNS_TTL"
                --pid-file="$TEST_DIR/dnsmasq.pid"
                --log-facility="$DNS_LOG"
        )
        local c
        [[ "$DNS_LOG_QUERIES" == 1 ]] && args+=(--log-queries=extra)
        for c in "${_DNS_CNAMES[@]}"; do
                args+=(--cname="$c")
        done
        [[ -z "$DNS_PID" ]] || fail "dns_start: dnsmasq already running"
        local reads_before
        reads_before="$(_dns_zone_reads)"
        /usr/sbin/dnsmasq "${args[@]}" "${DNS_EXTRA_ARGS[@]}" 2>>"$TEST_DIR/dnsmasq.stderr" &
        DNS_PID=$!
        at_exit dns_stop
        wait_until 10 _dns_listening || fail "dnsmasq did not start: $(cat "$TEST_DIR/dnsmasq.stderr")"
        wait_until 10 _dns_zone_loaded_since "$reads_before" || fail "dnsmasq did not read $DNS_ZONE"
}

_dns_zone_loaded_since() {
        (( $(_dns_zone_reads) > $1 ))
}

dns_stop() {
        [[ -n "$DNS_PID" ]] || return 0
        kill -TERM "$DNS_PID" 2>/dev/null || true
        wait "$DNS_PID" 2>/dev/null || true
        DNS_PID=
}

dns_reload() {
        [[ -n "$DNS_PID" ]] || fail "dns_reload: dnsmasq is not running"
        local reads_before
        reads_before="$(_dns_zone_reads)"
        kill -HUP "$DNS_PID"
        wait_until 10 _dns_zone_loaded_since "$reads_before" || fail "dnsmasq did not re-read $DNS_ZONE"
}

dns_write_zone() {
        cat >"$DNS_ZONE.new"
        mv "$DNS_ZONE.new" "$DNS_ZONE"
}

dns_set() {
        local name="$1"; shift
        local addr
        {
                awk -v n="$name" '{ keep = 1; for (i = 2; i <= NF; i++) if ($i == n) keep = 0 } keep' "$DNS_ZONE"
                for addr in "$@"; do
                        printf '%s %s\n' "$addr" "$name"
                done
        } >"$DNS_ZONE.new"
        mv "$DNS_ZONE.new" "$DNS_ZONE"
}

dns_cname() {
        local alias="$1" target="$2" ttl="${3:-}"
        _DNS_CNAMES+=("$alias,$target${ttl:+,$ttl}")
        if [[ -n "$DNS_PID" ]]; then
                dns_stop
                dns_start
        fi
}

dns_query_count() {
        # --log-queries=extra lines look like "... query[A] NAME from 127.0.0.1".
        local n
        n="$(grep -c -F "] $1 from " "$DNS_LOG" 2>/dev/null)" || true
        echo "${n:-0}"
}

DAEMON_PID=
DAEMON_RC=
NOTIFY_PID=
DAEMON_WRAPPER=()
_DAEMON_WRAPPED=0

daemon_config() {
        DAEMON_CONF="$TEST_DIR/allowlistd.conf"
        printf '%s\n' "$1" >"$DAEMON_CONF"
}

_daemon_show_log() {
        # rc is _run_at_exit's: show what the daemon said when the test failed.
        if (( ${rc:-0} != 0 && ${rc:-0} != 77 )) && [[ -s "$TEST_DIR/daemon.log" ]]; then
                echo "--- last lines of daemon.log" >&2
                tail -n 40 "$TEST_DIR/daemon.log" >&2
        fi
}

_daemon_ready() {
        grep -qx 'READY=1' "$NOTIFY_LOG" 2>/dev/null && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || fail "allowlistd exited before READY=1: $(tail -n 20 "$DAEMON_LOG")"
        return 1
}

daemon_start() {
        [[ -z "$DAEMON_PID" ]] || fail "daemon_start: allowlistd already running"
        DAEMON_LOG="$TEST_DIR/daemon.log"
        NOTIFY_LOG="$TEST_DIR/notify.log"
        if [[ -z "$NOTIFY_PID" ]]; then
                : >"$NOTIFY_LOG"
                "$NOTIFY_LISTEN" "$TEST_DIR/notify.sock" "$NOTIFY_LOG" &
                NOTIFY_PID=$!
                at_exit 'kill $NOTIFY_PID 2>/dev/null; wait $NOTIFY_PID 2>/dev/null'
                at_exit _daemon_show_log
                wait_until 5 test -S "$TEST_DIR/notify.sock" || fail "notify-listen did not start"
        fi
        # Only this run's messages count for READY=1.
        : >"$NOTIFY_LOG"
        NOTIFY_SOCKET="$TEST_DIR/notify.sock" "${DAEMON_WRAPPER[@]}" "$ALLOWLISTD" -c "$DAEMON_CONF" "$@" 2>>"$DAEMON_LOG" &
        DAEMON_PID=$!
        _DAEMON_WRAPPED=$(( ${#DAEMON_WRAPPER[@]} > 0 ))
        at_exit 'daemon_stop KILL'
        wait_until 30 _daemon_ready || fail "allowlistd did not send READY=1"
}

daemon_stop() {
        local pid=$DAEMON_PID
        [[ -n "$DAEMON_PID" ]] || return 0
        if (( _DAEMON_WRAPPED )); then
                pid=$(pgrep -P "$DAEMON_PID" -x allowlistd) || pid=$DAEMON_PID
        fi
        kill -"${1:-TERM}" "$pid" 2>/dev/null || true
        DAEMON_RC=0
        wait "$DAEMON_PID" 2>/dev/null || DAEMON_RC=$?
        DAEMON_PID=
}

_SET_JQ='.nftables[] | select(.set) | .set.elem // [] | .[]
        | (if type == "object" and has("elem") then .elem else {val: .} end) as $e
        | ($e.val | if type == "object" and has("prefix") then "\(.prefix.addr)/\(.prefix.len)"
                    elif type == "object" and has("range") then "\(.range[0])-\(.range[1])"
                    else tostring end) as $v'

set_elements() {
        nft -j list set "$1" "$2" "$3" | jq -r "$_SET_JQ | \$v" | sort -V
}

set_timeouts() {
        nft -j list set "$1" "$2" "$3" |
                jq -r "$_SET_JQ | \"\(\$v) \(\$e.timeout // \"-\") \(\$e.expires // \"-\")\"" | sort -V
}

# --- journald --------------------------------------------------------------------------------

JOURNAL_LOG=
JOURNAL_PID=

journal_listen() {
        local dir=/run/systemd/journal
        [[ -z "$JOURNAL_PID" ]] || fail "journal_listen: already listening"
        mkdir -p "$TEST_DIR/journal"
        if [[ -d "$dir" ]]; then
                mount --bind "$TEST_DIR/journal" "$dir" || fail "cannot bind-mount over $dir"
        elif [[ -d /run/systemd ]]; then
                # No journald here (a container): a tmpfs over /run/systemd, in this namespace only.
                mount -t tmpfs -o mode=755 tmpfs /run/systemd || fail "cannot mount a tmpfs on /run/systemd"
                mkdir "$dir"
                mount --bind "$TEST_DIR/journal" "$dir" || fail "cannot bind-mount over $dir"
        else
                mount -t tmpfs -o mode=755 tmpfs /run || fail "cannot mount a tmpfs on /run"
                mkdir -p "$dir"
                mount --bind "$TEST_DIR/journal" "$dir" || fail "cannot bind-mount over $dir"
        fi
        JOURNAL_LOG="$TEST_DIR/journal.log"
        : >"$JOURNAL_LOG"
        "$NOTIFY_LISTEN" "$dir/socket" "$JOURNAL_LOG" &
        JOURNAL_PID=$!
        at_exit 'kill $JOURNAL_PID 2>/dev/null; wait $JOURNAL_PID 2>/dev/null'
        wait_until 5 test -S "$dir/socket" || fail "journal listener did not start"
        DAEMON_LOG="$TEST_DIR/daemon.log"
        touch "$DAEMON_LOG"
        # systemd writes st_dev and st_ino in decimal.
        JOURNAL_STREAM="$(stat -c '%d:%i' "$DAEMON_LOG")"
        export JOURNAL_STREAM
}

journal_records() {
        awk '/^PRIORITY=/ && NR > 1 { print rec; rec = "" } { rec = rec (rec == "" ? "" : "\t") $0 } END { if (rec != "") print rec }' "$JOURNAL_LOG"
}
