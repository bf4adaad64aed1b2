#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Both forms of the snooping rules against the real kernel, through the nft module
# (nft-driver queue): the nftables queue expression where the kernel has it (nft_queue), the
# xtables NFQUEUE target where it does not (CONFIG_NFT_QUEUE unset), chosen by trying the
# expression first; each form forced on its own. The listing of the target form comes through
# nft's libxtables translation of the target's info bytes, so `queue num 4 bypass` there says
# they are what iptables-nft writes. A kernel without the expression refuses the forced one
# with a message naming the chain and nft_queue, and the chains already there stay as they
# were. Removal deletes both chains and is quiet when they are gone. The daemon says in the
# journal which form it uses.
source "$(dirname "$0")/lib.sh"
require_root_netns "$@"

# Which form the kernel takes: the expression, if a scratch rule with it loads.
nft add table inet probe
nft add chain inet probe c
if nft add rule inet probe c queue num 9 bypass 2>/dev/null; then
        has_expression=1
        auto_kind="queue expression"
else
        has_expression=0
        auto_kind="xtables NFQUEUE target"
fi
nft delete table inet probe
echo "kernel has the queue expression: $has_expression"

chains() { # TABLE: the snooping chains as nft lists them, without the warning comment
        nft list table inet "$1" 2>/dev/null | grep -v '^#'
}

assert_eq "installed: $auto_kind" "$("$NFT_DRIVER" queue inet filter 3 auto 192.0.2.53 2001:db8::53)" \
        "the form is chosen by what the kernel has"
want_q3='table inet filter {
	chain snoop_forward {
		type filter hook forward priority filter + 10; policy accept;
		ip saddr 192.0.2.53 udp sport 53 ct direction reply queue num 3 bypass
		ip6 saddr 2001:db8::53 udp sport 53 ct direction reply queue num 3 bypass
	}

	chain snoop_output {
		type filter hook output priority filter + 10; policy accept;
		ip saddr 192.0.2.53 udp sport 53 ct direction reply queue num 3 bypass
		ip6 saddr 2001:db8::53 udp sport 53 ct direction reply queue num 3 bypass
	}
}'
assert_eq "$want_q3" "$(chains filter)" "both chains, one rule per server, queue 3 with bypass"
if (( has_expression )); then want_stmt=queue; else want_stmt=xt; fi
assert_eq "$want_stmt
$want_stmt" "$(nft -j list chain inet filter snoop_forward | jq -r '.nftables[] | select(.rule) | .rule.expr[-1] | keys[0]')" \
        "the last statement of each rule is the $auto_kind"

# Forced: the expression.
out=$("$NFT_DRIVER" queue inet filter 4 expression) && rc=0 || rc=$?
if (( has_expression )); then
        assert_eq "0 installed: queue expression" "$rc $out" "the forced queue expression loads"
else
        assert_eq "1 error: chain inet filter snoop_forward: the kernel has no nftables queue expression (module nft_queue, CONFIG_NFT_QUEUE): No such file or directory" \
                "$rc $out" "the forced queue expression fails cleanly, naming the chain and nft_queue"
        assert_eq "$want_q3" "$(chains filter)" "the refused transaction left the chains as they were"
fi

# Forced: the xtables target (the kernel has nft_compat and xt_NFQUEUE everywhere we run).
assert_eq "installed: xtables NFQUEUE target" "$("$NFT_DRIVER" queue inet filter 4 target)" \
        "the forced xtables target loads"
assert_eq 'table inet filter {
	chain snoop_forward {
		type filter hook forward priority filter + 10; policy accept;
		udp sport 53 ct direction reply queue num 4 bypass
	}

	chain snoop_output {
		type filter hook output priority filter + 10; policy accept;
		udp sport 53 ct direction reply queue num 4 bypass
	}
}' "$(chains filter)" "replaced: one rule each, queue 4 (the target's info bytes read back as iptables-nft's)"

# Removal: the chains go, the table stays; nothing to remove is fine.
assert_eq "" "$("$NFT_DRIVER" queue-remove inet filter)" "removed"
assert_eq 'table inet filter {
}' "$(chains filter)" "no snooping chain left"
assert_eq "" "$("$NFT_DRIVER" queue-remove inet filter)" "removing again is quiet"
assert_eq "" "$("$NFT_DRIVER" queue-remove inet nothere)" "removing from a missing table is quiet"
nft delete table inet filter

# The daemon says which form it uses.
dns_set a.vendor.test 192.0.2.1
dns_start
daemon_config "[daemon]
dns_servers = $DNS_SERVERS
state_file = $TEST_DIR/state
snoop = yes
snoop_queue = 7

[g]
hosts = a.vendor.test
domains = vendor.test
allow = tcp/443"
daemon_start
if (( has_expression )); then
        want_log="Snooping DNS replies on NFQUEUE 7 (queue expression) for the domains of 1 group."
else
        want_log="Snooping DNS replies on NFQUEUE 7 (xtables NFQUEUE target: the kernel has no nftables queue expression, nft_queue) for the domains of 1 group."
fi
assert_eq "info: $want_log" "$(grep 'Snooping DNS replies' "$DAEMON_LOG")" "the journal names the form and why"
daemon_stop
