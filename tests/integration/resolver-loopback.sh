#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The resolver against a fake DNS server on loopback (see resolver-loopback.c): the in-flight
# bound, answers through the whole path, freeing with queries pending.
source "${BASH_SOURCE[0]%/*}/lib.sh"
require_root_netns "$@"
: "${RESOLVER_LOOPBACK:?}"

"$RESOLVER_LOOPBACK" || fail "resolver-loopback exited $?"
echo "ok: resolver against the fake server on loopback"
