#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Apply in proportion to the change: with 10,000 addresses in a set, one answer changes (one
# address replaced, one lifetime extended). `nft monitor` must show exactly those elements
# deleted and added, nothing of the 10,000 others; the same through both ways of extending a
# lifetime (in place, Linux 6.12 and later; delete + add in one batch, before). A reader polling
# unchanged and extended addresses during 200 such transactions never misses one. A lifetime
# extended with the same timeout (only the expiry moves) is extended; each element carries its
# comment.
. "$(dirname "$0")/nft-lib.sh"

A=$(spec a <<'X'
table inet allowlistd
chain allowlistd
group t families=v4
range t 10.0.0.0 10000 3600
elem t 192.0.2.1 3600 one.example
elem t 198.51.100.7 600 keep.example
allow t tcp 443
X
)
B=$(spec b <<'X'
table inet allowlistd
chain allowlistd
group t families=v4
range t 10.0.0.0 10000 3600
elem t 192.0.2.2 3600 two.example
elem t 198.51.100.7 900 keep.example
allow t tcp 443
X
)
# Two seconds later than A's, 198.51.100.7 gets 602 s: the same timeout (600 s) as A sent.
C=$(spec c <<'X'
table inet allowlistd
chain allowlistd
group t families=v4
range t 10.0.0.0 10000 3600
elem t 192.0.2.1 3600 one.example
elem t 198.51.100.7 602 keep.example
allow t tcp 443
X
)

# The element changes of every transaction after the first that follows the monitor's readiness
# mark $2 (the mark's own transaction, then the driver's first), one "add|delete ADDR" a line.
element_events() {
        awk -v mark="add table inet $2" '$0 ~ "^" mark "( |$)" { ready = 1; next }
             !ready { next }
             /^# new generation/ { gen++; next }
             gen >= 2 && /^(add|delete) element/ { verb = $1; sub(/.*\{ /, ""); print verb, $1 }' "$1"
}

# Commits an empty table named $2 and waits up to $3 tenths of a second until the monitor
# writing to $1 shows it: it listens (before the driver), or has shown everything committed
# earlier (after).
monitor_mark() {
        local i
        nft add table inet "$2"
        for ((i = 0; i < $3; i++)); do
                grep -q "^add table inet $2\( \|$\)" "$1" && return 0
                sleep 0.1
        done
        return 1
}

for mode in in-place replace; do
        nft flush ruleset
        nft monitor >"$WORK/events" 2>&1 &
        mon=$!
        # nft monitor listens some time after it starts: a new mark until it shows one.
        for ((k = 0; k < 50; k++)); do
                monitor_mark "$WORK/events" "monitor_ready$k" 2 && break
        done
        (( k < 50 )) || fail "nft monitor did not start listening within 10 s"
        ready="monitor_ready$k"
        NFT_DRIVER_UPDATE=$mode NFT_DRIVER_STATS=1 "$NFT_DRIVER" apply "$A" "$B" "$A" >"$WORK/out" ||
                fail "$mode: apply failed: $(cat "$WORK/out")"
        monitor_mark "$WORK/events" monitor_done 100 || fail "nft monitor did not show the mark after the driver's transactions"
        kill "$mon"
        wait "$mon" 2>/dev/null || true
        if [ "$mode" = in-place ]; then
                expected='delete 192.0.2.1
add 192.0.2.2
add 198.51.100.7
delete 192.0.2.2
add 192.0.2.1
add 198.51.100.7'
        else
                expected='delete 192.0.2.1
delete 198.51.100.7
add 192.0.2.2
add 198.51.100.7
delete 192.0.2.2
delete 198.51.100.7
add 192.0.2.1
add 198.51.100.7'
        fi
        assert_eq "$expected" "$(element_events "$WORK/events" "$ready")" "$mode: only the changed elements go to the kernel"
        assert_eq 10002 "$(elements inet allowlistd t_v4 | wc -l)" "$mode: every element is there"
        grep -q 'stats: bytes=[0-9]* added=1 deleted=1 updated=1 refilled=0' "$WORK/out" ||
                fail "$mode: the driver did not report a difference: $(cat "$WORK/out")"

        # 200 transactions, each replacing one address and extending another, while a reader
        # asks for addresses that stay (and for the one extended each time) without a pause.
        args=()
        # 50 ms apart, so that reads (one nft process each, slow on a loaded machine) fall
        # between and across the commits.
        for i in $(seq 100); do args+=("$B" msleep=50 "$A" msleep=50); done
        NFT_DRIVER_UPDATE=$mode "$NFT_DRIVER" apply "${args[@]}" >"$WORK/churn" 2>&1 &
        driver=$!
        # 5 requests an nft process, each for addresses that must be there throughout.
        for i in $(seq 5); do
                echo 'get element inet allowlistd t_v4 { 10.0.0.0, 10.0.19.136, 10.0.39.15, 198.51.100.7 }'
        done >"$WORK/reads.nft"
        polls=0 misses=0
        while kill -0 "$driver" 2>/dev/null; do
                if nft -f "$WORK/reads.nft" >/dev/null 2>"$WORK/miss"; then
                        polls=$((polls + 5))
                elif grep -q 'No such file or directory' "$WORK/miss"; then
                        misses=$((misses + 1))
                        cat "$WORK/miss" >&2
                fi
                # Else nft's read of the ruleset was interrupted by a commit (EINTR): it
                # read nothing, try again.
        done
        wait "$driver" || fail "$mode: the 200 transactions failed: $(tail -n 5 "$WORK/churn")"
        assert_eq 200 "$(grep -c '^committed$' "$WORK/churn")" "$mode: 200 transactions committed"
        assert_eq 0 "$misses" "$mode: the reader never missed an address ($polls reads)"
        [ "$polls" -ge 25 ] || fail "$mode: the reader only read $polls times"

        # Same timeout, later expiry: extended all the same.
        NFT_DRIVER_UPDATE=$mode "$NFT_DRIVER" apply "$A" sleep=2 "$C" >"$WORK/out" ||
                fail "$mode: apply failed: $(cat "$WORK/out")"
        expires=$(set_json inet allowlistd t_v4 |
                jq -r '.elem[] | select(type == "object" and .elem.val == "198.51.100.7") | .elem.expires')
        [ "$expires" -ge 598 ] || fail "$mode: 198.51.100.7 expires in ${expires}s, expected about 600 (not extended)"
        echo "ok: $mode: a lifetime extended with the same timeout expires in ${expires}s"

        comment=$(set_json inet allowlistd t_v4 |
                jq -r '.elem[] | select(type == "object" and .elem.val == "192.0.2.1") | .elem.comment')
        assert_eq one.example "$comment" "$mode: the element's comment reads back"
done

# An interval set (static prefixes): ranges replaced, merged with a neighbour, extended, added,
# each as a difference.
IA=$(spec ia <<'X'
table inet allowlistd
chain allowlistd
group t families=v4 interval=1
elem t 192.0.2.0/25 -
elem t 192.0.2.128 3600 a.example
elem t 198.51.100.7 600 keep.example
elem t 203.0.113.0/24 -
allow t tcp 443
X
)
IB=$(spec ib <<'X'
table inet allowlistd
chain allowlistd
group t families=v4 interval=1
elem t 192.0.2.0/24 -
elem t 198.51.100.7 900 keep.example
elem t 198.51.100.8 900 new.example
elem t 203.0.113.0/24 -
allow t tcp 443
X
)
for mode in in-place replace; do
        nft flush ruleset
        NFT_DRIVER_UPDATE=$mode NFT_DRIVER_STATS=1 "$NFT_DRIVER" apply "$IA" "$IB" >"$WORK/out" ||
                fail "$mode: interval apply failed: $(cat "$WORK/out")"
        assert_eq $'192.0.2.0/24\n198.51.100.7\n198.51.100.8\n203.0.113.0/24' "$(elements inet allowlistd t_v4)" \
                "$mode: interval set after the difference"
        grep -q 'stats: bytes=[0-9]* added=2 deleted=2 updated=1 refilled=0' "$WORK/out" ||
                fail "$mode: the interval set was not sent as a difference: $(cat "$WORK/out")"
        NFT_DRIVER_UPDATE=$mode "$NFT_DRIVER" apply "$IB" "$IA" >"$WORK/out" ||
                fail "$mode: interval apply failed: $(cat "$WORK/out")"
        assert_eq $'192.0.2.0/25\n192.0.2.128\n198.51.100.7\n203.0.113.0/24' "$(elements inet allowlistd t_v4)" \
                "$mode: interval set after the way back"
done
