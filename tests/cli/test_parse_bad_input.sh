#!/usr/bin/env bash
# rollwatch parse on hostile input: garbage, NUL, CRLF, invalid UTF-8, a 10 MB line, empty files,
# no final newline, unreadable files, bad options. Exit 0 and every good line parsed.
RW=$1
. "$(dirname "$0")/lib.sh"

GOOD1='2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q Started container myapp'
GOOD2='2026-03-18T14:30:52Z system/k8s/atom/app Status: Updating => Running'

# --- binary garbage (deterministic), then good lines: nothing lost after it
LC_ALL=C awk 'BEGIN { srand(42); for (i = 0; i < 300000; i++) printf "%c", int(rand() * 256) }' \
    >"$TMP/garbage.bin"
{ cat "$TMP/garbage.bin"; printf '\n%s\n%s\n' "$GOOD1" "$GOOD2"; } >"$TMP/garbage.log"
"$RW" parse "$TMP/garbage.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "garbage exit" 0 $?
expect_valid_ndjson "$TMP/out"
lines=$(LC_ALL=C awk 'END { print NR }' "$TMP/garbage.log")
expect_eq "garbage: one record per line" "$lines" "$(wc -l <"$TMP/out")"
expect_eq "garbage: last good lines parsed" "k8s atom" \
    "$(tail -n 2 "$TMP/out" | jq -r .kind | tr '\n' ' ' | sed 's/ $//')"
grep -q 'invalid UTF-8' "$TMP/err" && pass || fail "garbage: no counts on stderr"

# --- NUL bytes inside and between lines
printf '%s\nbefore\0after\n\0\n%s\n' "$GOOD1" "$GOOD2" >"$TMP/nul.log"
"$RW" parse "$TMP/nul.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "nul exit" 0 $?
expect_valid_ndjson "$TMP/out"
expect_eq "nul: records" 4 "$(wc -l <"$TMP/out")"
sed -n 2p "$TMP/out" | grep -qF '"message":"before\u0000after"' && pass || fail "nul: not escaped: $(sed -n 2p "$TMP/out")"
grep -q ' 2 with NUL' "$TMP/err" && pass || fail "nul: count not reported: $(cat "$TMP/err")"

# --- CRLF line endings
printf '%s\r\n%s\r\nOK\r\n' "$GOOD1" "$GOOD2" >"$TMP/crlf.log"
"$RW" parse "$TMP/crlf.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "crlf exit" 0 $?
expect_eq "crlf: kinds" "k8s atom cli" "$(jq -r .kind <"$TMP/out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "crlf: no CR in message" "Running" "$(sed -n 2p "$TMP/out" | jq -r .status_to)"
expect_eq "crlf: ok parsed" "ok" "$(sed -n 3p "$TMP/out" | jq -r .cli)"
grep -q ' 3 CRLF' "$TMP/err" && pass || fail "crlf: count not reported"

# --- invalid UTF-8 in every field position
printf '2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q \xff\xfe bad \xc3(\n2026-03-18T14:30:51Z service/w\xffb/pod-\x80 x\n\xed\xa0\x80 surrogate\n' >"$TMP/utf8.log"
"$RW" parse "$TMP/utf8.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "utf8 exit" 0 $?
expect_valid_ndjson "$TMP/out"
expect_eq "utf8: replaced" "$(printf '\xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd(')" "$(sed -n 1p "$TMP/out" | jq -r .message)"
grep -q ' 3 invalid UTF-8' "$TMP/err" && pass || fail "utf8: count not reported: $(cat "$TMP/err")"

# --- a 10 MB line between good lines: truncated to --max-line, counted, neighbours intact
{ echo "$GOOD1"; head -c 10485760 /dev/zero | tr '\0' 'x'; echo; echo "$GOOD2"; } >"$TMP/big.log"
"$RW" parse "$TMP/big.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "big exit" 0 $?
expect_eq "big: records" 3 "$(wc -l <"$TMP/out")"
expect_eq "big: truncated flag" "true" "$(sed -n 2p "$TMP/out" | jq -r .truncated)"
expect_eq "big: cut at 64 KiB" 65536 "$(sed -n 2p "$TMP/out" | jq -r '.message | length')"
expect_eq "big: next line intact" "Running" "$(sed -n 3p "$TMP/out" | jq -r .status_to)"
grep -q ' 1 truncated' "$TMP/err" && pass || fail "big: truncation not reported"
"$RW" parse --max-line 1k <"$TMP/big.log" >"$TMP/out" 2>/dev/null
expect_eq "big via stdin with --max-line 1k" 1024 "$(sed -n 2p "$TMP/out" | jq -r '.message | length')"
# ... and the same through a pipe, where reads arrive in pieces
cat "$TMP/big.log" | "$RW" parse >"$TMP/out" 2>/dev/null
expect_eq "big via pipe: records" 3 "$(wc -l <"$TMP/out")"

# --- a 10 MB final line with no newline at all
head -c 10485760 /dev/zero | tr '\0' 'y' >"$TMP/bignonl.log"
"$RW" parse "$TMP/bignonl.log" >"$TMP/out" 2>/dev/null
expect_eq "big without newline exit" 0 $?
expect_eq "big without newline: one record" 1 "$(wc -l <"$TMP/out")"

# --- empty input, only newlines, no final newline
: >"$TMP/empty.log"
"$RW" parse "$TMP/empty.log" >"$TMP/out" 2>/dev/null
expect_eq "empty exit" 0 $?
expect_eq "empty: no records" 0 "$(wc -c <"$TMP/out")"
printf '\n\n\n' | "$RW" parse >"$TMP/out" 2>/dev/null
expect_eq "blank lines: one record each" 3 "$(wc -l <"$TMP/out")"
printf '%s\n%s' "$GOOD1" "$GOOD2" >"$TMP/nonl.log"
"$RW" parse "$TMP/nonl.log" >"$TMP/out" 2>/dev/null
expect_eq "no final newline: last line parsed" "Running" "$(sed -n 2p "$TMP/out" | jq -r .status_to)"

# --- truncated (cut short) lines of every shape still give records
printf '2026-03-18T14:3\n2026-03-18T14:30:51Z\n2026-03-18T14:30:51Z system/k8s/\n[pod/web\n[pod/a/b]\n  web-745f845dc-rzl2q  web\nPromoting R\nStatus: =>\n' >"$TMP/cut.log"
"$RW" parse "$TMP/cut.log" >"$TMP/out" 2>/dev/null
expect_eq "cut lines exit" 0 $?
expect_eq "cut lines: one record each" 8 "$(wc -l <"$TMP/out")"
expect_valid_ndjson "$TMP/out"

# --- an unreadable input: error names it, the others are still parsed, exit 1
"$RW" parse "$TMP/nonl.log" "$TMP/does-not-exist.log" "$TMP/crlf.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "missing file exit" 1 $?
grep -q "does-not-exist.log" "$TMP/err" && pass || fail "missing file not named: $(cat "$TMP/err")"
expect_eq "missing file: others parsed" 5 "$(wc -l <"$TMP/out")"
"$RW" parse "$TMP" >"$TMP/out" 2>"$TMP/err"
expect_eq "directory as input exit" 1 $?

# --- '-' reads stdin in order with files; usage errors exit 2
echo "$GOOD2" | "$RW" parse "$TMP/nonl.log" - >"$TMP/out" 2>/dev/null
expect_eq "stdin after file" 3 "$(wc -l <"$TMP/out")"
"$RW" parse --max-line abc </dev/null >/dev/null 2>&1
expect_eq "bad --max-line" 2 $?
"$RW" parse --no-such-flag </dev/null >/dev/null 2>&1
expect_eq "unknown flag" 2 $?
"$RW" frobnicate >/dev/null 2>&1
expect_eq "unknown command" 2 $?
# no command runs on standard input (DESIGN §7: rollwatch [run] ...): with the rules, an empty
# input is a clean run; where ./rules.d is missing, the build tree's binary takes its source
# tree's rules; a binary with no rules anywhere is a usage error
"$RW" --rules "$(dirname "$0")/../../rules.d" -q </dev/null >/dev/null 2>&1
expect_eq "no command, empty input" 0 $?
rw_abs=$(readlink -f "$RW")
(cd "$TMP" && "$rw_abs" -q </dev/null >/dev/null 2>&1)
expect_eq "no command, no ./rules.d, in the build tree" 0 $?
# (unless rules are installed where this build looks for them: its --help names the place)
installed=$("$RW" replay --help | grep -o '/[^ ,]*rollwatch/rules.d' | head -n 1)
if [ -n "$installed" ] && [ ! -d "$installed" ]; then
    mkdir -p "$TMP/lone" && cp "$rw_abs" "$TMP/lone/rollwatch"
    (cd "$TMP" && ./lone/rollwatch </dev/null >/dev/null 2>&1)
    expect_eq "no command, no rules anywhere" 2 $?
fi
"$RW" parse --help | grep -q 'Examples:' && pass || fail "parse --help has no examples"
"$RW" version | grep -Eq '^rollwatch [0-9]+\.[0-9]+\.[0-9]+' && pass || fail "version output"
"$RW" version --bogus >/dev/null 2>&1
expect_eq "version with an argument" 2 $?
# bad option values are usage errors that repeat the value; an empty --app is not a name
"$RW" replay --output xml /dev/null >/dev/null 2>"$TMP/opt.err"
expect_eq "--output xml" 2 $?
grep -q "output must be json, text or none, got 'xml'" "$TMP/opt.err" && pass || fail "--output xml: $(cat "$TMP/opt.err")"
"$RW" replay --app "" /dev/null >/dev/null 2>"$TMP/opt.err"
expect_eq "--app ''" 2 $?
"$RW" --bogus </dev/null >/dev/null 2>"$TMP/opt.err"
expect_eq "no command, unknown option" 2 $?
grep -q "^run: unrecognized option '--bogus'" "$TMP/opt.err" && pass || fail "unknown option: $(cat "$TMP/opt.err")"
# output that cannot be written is a runtime failure for every command, not only the long ones
for c in "version" "check-rules --rules $(dirname "$0")/../../rules.d" "--help"; do
    # shellcheck disable=SC2086
    "$RW" $c >/dev/full 2>"$TMP/full.err"
    expect_eq "$c > /dev/full" 1 $?
    grep -q 'writing to stdout failed' "$TMP/full.err" && pass || fail "$c > /dev/full: $(cat "$TMP/full.err")"
done

finish
