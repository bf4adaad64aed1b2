#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Another program commits while the apply dumps the table's sets: the kernel marks the rest of
# the dump NLM_F_DUMP_INTR, and the apply dumps again at once and succeeds (it used to fail,
# to be retried only after retry_min). 2,000 operator sets make the dump many messages long;
# strace slows the first reads of it down, and the commit comes as soon as the dump has begun.
. "$(dirname "$0")/nft-lib.sh"
require_strace
# LeakSanitizer cannot work under ptrace (a sanitizer build's driver would exit 1 at its end).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

nft add table inet allowlistd
for i in $(seq 1 2000); do
        echo "add set inet allowlistd operator$i { type ipv4_addr; comment \"an operator's set, number $i\"; }"
done >"$WORK/sets.nft"
nft -f "$WORK/sets.nft"

S=$(spec s <<'X'
table inet allowlistd
chain allowlistd
group g families=v4 interval=0 comment=g hosts: a.example
elem g 192.0.2.1 3600
allow g tcp 443
X
)

# Reads 5 to 9 of the driver's socket (the set dump's first parts; 1 to 4 drain the socket and
# read the table) take 300 ms more each.
strace -qq -o "$WORK/trace" -e trace=sendto,recvfrom -e inject=recvfrom:delay_exit=300000:when=5..9 \
        "$NFT_DRIVER" apply "$S" >"$WORK/out" 2>&1 &
driver=$!
wait_until 30 grep -qs 'NFT_MSG_GETSET,' "$WORK/trace" || fail "the set dump did not begin: $(cat "$WORK/trace")"
nft add table inet other
rc=0
wait "$driver" || rc=$?

grep -q NLM_F_DUMP_INTR "$WORK/trace" || fail "the commit did not interrupt the dump (the test did not test): $(grep -c NFT_MSG_NEWSET "$WORK/trace") set messages read"
expect_eq "the apply, despite the interrupted dump" "$rc $(cat "$WORK/out")" "0 committed"
expect_eq "the group's set" "$(elements inet allowlistd g_v4)" "192.0.2.1"
expect_eq "the GETSET dumps sent" "$(grep -c 'NFT_MSG_GETSET,' "$WORK/trace")" 2
echo OK
