# Shared helpers for the command-line tests: a temp dir, assertions that name what failed.
set -u
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
PASSES=0

pass() { PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then pass; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_valid_ndjson FILE: every line is one JSON object and the file is valid UTF-8
expect_valid_ndjson() {
    if ! jq -e -c 'type == "object"' <"$1" >/dev/null 2>"$TMP/jq.err"; then
        fail "$1 is not valid NDJSON: $(head -c 300 "$TMP/jq.err")"
    elif ! iconv -f UTF-8 -t UTF-8 <"$1" >/dev/null 2>&1; then
        fail "$1 is not valid UTF-8"
    else
        pass
    fi
}

finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
