#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 100,000 elements in one set apply in one transaction (the default send buffer fails near
# 7,500 IPv4 elements; element lists must be split before a 16-bit attribute overflows), also
# as intervals (200,000 kernel elements), and replacing them keeps exactly the new content.
. "$(dirname "$0")/nft-lib.sh"

A=$(spec a <<'X'
table inet allowlistd
chain allowlistd
group big families=v4 interval=0 comment=big
range big 10.0.0.0 100000 3600
allow big tcp 443
group bigi families=v4 interval=1 comment=big intervals
range bigi 172.16.0.0 100000 3600
X
)
B=$(spec b <<'X'
table inet allowlistd
chain allowlistd
group big families=v4 interval=0 comment=big
range big 10.1.0.0 100000 3600
allow big tcp 443
group bigi families=v4 interval=1 comment=big intervals
range bigi 172.16.0.0 100000 3600
X
)
before=$("$NFT_DRIVER" generation -)
out=$("$NFT_DRIVER" apply "$A" "$B")
after=$("$NFT_DRIVER" generation -)
expect_eq "one transaction per apply" "$((after - before))" "2"
expect_eq "results" "$(echo $out)" "committed committed"

expect_eq "count big" "$(set_json inet allowlistd big_v4 | jq '.elem | length')" "100000"
expect_eq "first and last" "$(set_json inet allowlistd big_v4 | jq -r '[.elem[].elem.val] | sort_by(split(".") | map(tonumber)) | .[0], .[-1]' | tr '\n' ' ')" \
        "10.1.0.0 10.2.134.159 "
expect_eq "all with timeout" "$(set_json inet allowlistd big_v4 | jq '[.elem[].elem.timeout | . > 3590 and . <= 3600] | all')" "true"
expect_eq "count bigi" "$(set_json inet allowlistd bigi_v4 | jq '.elem | length')" "100000"
echo OK
