#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one libFuzzer target for FUZZ_SECONDS (default 60) from its seed corpus and fails on any
# finding (crash, sanitizer report, leak, slow input, memory limit). New inputs go to WORK, never
# into the tree; a finding is left there as crash-*, leak-*, timeout-*, slow-unit-* or oom-*.
# Usage: fuzz-run.sh TARGET SEED_DIR WORK_DIR [LIBFUZZER_OPTION...]
set -uo pipefail
target=$1 seeds=$2 work=$3
shift 3

rm -rf "$work"
mkdir -p "$work/corpus" || exit 1
# Sanitizer reports are findings: stop at the first one, with a stack.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# -rss_limit_mb: ASan alone (shadow memory, quarantine) takes a few hundred MiB before the first
# input; 2048 leaves the loaders' own bounds (64 MiB for a state file) far inside it.
# -error_exitcode: libFuzzer's default, 77, would read as "skipped" to meson.
"$target" -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
        -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
        -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds"
rc=$?

findings=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'slow-unit-*' -o -name 'oom-*' \) | sort)
if (( rc != 0 )) || [[ -n "$findings" ]]; then
        echo "FAIL: $(basename "$target") found a defect (exit $rc):" >&2
        for f in $findings; do echo "  $f  (replay: $target $f)" >&2; done
        echo "Once fixed, keep each input in $seeds/ as a regression input." >&2
        exit 1
fi
echo "ok: $(basename "$target"): no finding in ${FUZZ_SECONDS:-60} s"
