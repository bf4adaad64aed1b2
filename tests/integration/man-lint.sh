#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Lints every man page man/meson.build installs: it must exist and not be empty, its .TH must
# name the file, `mandoc -T lint -W warning` and groff (-ww, and through `man -l`) must not
# complain, and a page with tables must declare tbl for man-db. allowlistd(8) must also
# document what the code defines: every MESSAGE_ID of src/log.h, every journal field of
# src/log.c and every option of src/main.c, so a new one without documentation fails here.
# Needs no root; exits 77 (skipped) when mandoc, man or groff is missing.
set -eu

: "${SRCDIR:?SRCDIR must name the source tree}"

for tool in mandoc man groff; do
        if ! command -v "$tool" >/dev/null 2>&1; then
                echo "SKIP: $tool is not installed"
                exit 77
        fi
done

# The same rendering wherever the test runs: no pager, no locale surprises, 80 columns.
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat MAN_DISABLE_SECCOMP=1
unset MANOPT MANPATH GROFF_TMAC_PATH 2>/dev/null || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
fail() {
        echo "FAIL: $*"
        failed=1
}

# Prints a file's contents indented under a FAIL line.
show() {
        sed 's/^/    /' "$1"
}

pages=$(grep -o "'[^']*\.[1-8]'" "$SRCDIR/man/meson.build" | tr -d "'" | sort -u)
if [ -z "$pages" ]; then
        echo "FAIL: no man pages found in $SRCDIR/man/meson.build"
        exit 1
fi

for page in $pages; do
        file="$SRCDIR/man/$page"
        name=${page%.*}
        section=${page##*.}

        if [ ! -s "$file" ]; then
                fail "$page is missing or empty"
                continue
        fi

        th=$(awk '$1 == ".TH" { gsub(/"/, ""); print toupper($2) " " $3; exit }' "$file")
        want=$(echo "$name $section" | tr '[:lower:]' '[:upper:]')
        [ "$th" = "$want" ] || fail "$page: .TH says '$th', expected '$want'"

        if ! mandoc -T lint -W warning "$file" >"$tmp/lint" 2>&1 || [ -s "$tmp/lint" ]; then
                fail "$page: mandoc -T lint -W warning:"
                show "$tmp/lint"
        fi

        # man-db runs tbl only when the first line asks for it: '\" t
        tbl=
        if head -n 1 "$file" | grep -q "^'\\\\\" .*t"; then
                tbl=-t
        elif grep -q '^\.TS' "$file"; then
                fail "$page has tables but its first line is not '\\\" t (man would print them raw)"
        fi

        if ! groff $tbl -man -Tutf8 -ww -z "$file" 2>"$tmp/groff" || [ -s "$tmp/groff" ]; then
                fail "$page: groff -man -Tutf8 -ww:"
                show "$tmp/groff"
        fi

        if ! man --warnings -l "$file" >"$tmp/$page.txt" 2>"$tmp/man" || [ -s "$tmp/man" ]; then
                fail "$page: man -l:"
                show "$tmp/man"
        elif [ ! -s "$tmp/$page.txt" ]; then
                fail "$page: man -l printed nothing"
        fi
        # wc -L counts display columns (awk on Debian is mawk, which counts bytes).
        width=$(wc -L <"$tmp/$page.txt")
        [ "$width" -le 80 ] || fail "$page: man -l printed a line of $width columns, wider than MANWIDTH=80"
done

# allowlistd(8) against the code. Line breaks and justification are flattened so a phrase
# that wraps still matches.
text="$tmp/allowlistd.8.flat"
if [ -s "$tmp/allowlistd.8.txt" ]; then
        tr -s '[:space:]' ' ' <"$tmp/allowlistd.8.txt" >"$text"
else
        fail "allowlistd.8 was not rendered; skipping the content checks"
        exit 1
fi

expect() {
        grep -qF -- "$1" "$text" || fail "allowlistd.8 does not mention '$1'${2:+ ($2)}"
}

defines=$(grep -c '^#define MESSAGE_' "$SRCDIR/src/log.h" || true)
ids=$(sed -n 's/^#define MESSAGE_[A-Z_]*[[:space:]]*"\([0-9a-f]\{32\}\)".*/\1/p' "$SRCDIR/src/log.h")
n_ids=$(echo "$ids" | grep -c . || true)
if [ "$n_ids" -eq 0 ] || [ "$n_ids" -ne "$defines" ]; then
        fail "src/log.h: $defines MESSAGE_ defines but $n_ids well-formed 32-hex-digit ids"
fi
for id in $ids; do
        grep -qw -- "$id" "$text" || fail "allowlistd.8 does not list MESSAGE_ID $id (src/log.h)"
done

fields=$(grep -o '"[A-Z_]*=' "$SRCDIR/src/log.c" | tr -d '"=' | sort -u)
[ -n "$fields" ] || fail "src/log.c: no journal fields found"
for f in $fields; do
        expect "$f" "journal field sent by src/log.c"
done

longopts=$(sed -n 's/^[[:space:]]*{ *"\([a-z-]*\)", *[a-z]*_argument.*/\1/p' "$SRCDIR/src/main.c")
[ -n "$longopts" ] || fail "src/main.c: no long options found"
for o in $longopts; do
        expect "--$o" "option of src/main.c"
done
shortopts=$(sed -n 's/.*getopt_long([^"]*"\([^"]*\)".*/\1/p' "$SRCDIR/src/main.c" | tr -d ':')
[ -n "$shortopts" ] || fail "src/main.c: no short options found"
for o in $(echo "$shortopts" | sed 's/./& /g'); do
        grep -qE -- "(^|[^[:alnum:]-])-$o([^[:alnum:]-]|$)" "$text" ||
                fail "allowlistd.8 does not mention '-$o' (option of src/main.c)"
done

for section in NAME SYNOPSIS DESCRIPTION OPTIONS "HOW IT WORKS" SIGNALS "EXIT STATUS" \
               ENVIRONMENT FILES JOURNAL EXAMPLES "SEE ALSO"; do
        grep -qx -- "$section" "$tmp/allowlistd.8.txt" || fail "allowlistd.8 has no section $section"
done

for s in SIGHUP SIGTERM SIGINT READY=1 RELOADING=1 STOPPING=1 STATUS= WATCHDOG=1 \
         NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM on_exit=keep on_exit=remove \
         /etc/allowlistd/allowlistd.conf /usr/share/allowlistd/products/ /var/lib/allowlistd/state \
         "flags timeout" "jump allowlistd" "nft flush ruleset" \
         "journalctl -u allowlistd ALLOWLIST_HOST=csall.wisemo.com" \
         "mycloudall.wisemo.com" "csall.wisemo.com" "allowlistd.conf(5)" "nft(8)" \
         "systemctl(1)" "journalctl(1)"; do
        expect "$s"
done

# Every exit code manager.h promises.
for code in 0 1 2; do
        awk -v c="$code" '/^EXIT STATUS/ { on = 1; next } /^[A-Z]/ { on = 0 } on && $1 == c { found = 1 }
                          END { exit !found }' "$tmp/allowlistd.8.txt" ||
                fail "allowlistd.8: EXIT STATUS does not describe $code"
done

if [ "$failed" -ne 0 ]; then
        exit 1
fi
echo "OK: $(echo $pages | wc -w) pages lint clean; allowlistd.8 lists $n_ids MESSAGE_IDs," \
     "$(echo $fields | wc -w) journal fields and every option"
