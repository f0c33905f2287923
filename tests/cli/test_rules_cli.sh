#!/usr/bin/env bash
# The rules from the outside: check-rules errors with FILE:LINE:COL, replay of the samples,
# replay == run on stdin, --records tags, and SIGHUP reload (bad rules keep the old ones).
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

# --- check-rules: the shipped rules are valid, broken files are located exactly
"$RW" check-rules --rules "$SRC/rules.d" >"$TMP/out" 2>&1
expect_eq "check-rules default exit" 0 $?
grep -Eq 'rules.d: [0-9]+ rules, 18 classes, OK' "$TMP/out" && pass || fail "check-rules: $(cat "$TMP/out")"

"$RW" check-rules --rules "$SRC/tests/data/bad-rules" >"$TMP/out" 2>&1
expect_eq "check-rules broken exit" 2 $?
B="$SRC/tests/data/bad-rules"
cat >"$TMP/want" <<WANT
$B/10-syntax.json:5:5: invalid JSON: after array element, I expect ',' or ']'
$B/20-semantics.json:6:35: unknown field "mesage" (a record field or an earlier rule's capture)
$B/20-semantics.json:7:89: bad regex at offset 30: missing closing parenthesis
$B/20-semantics.json:8:66: unknown key "severity" in a match rule
$B/20-semantics.json:9:59: class "crashloop" is not defined in any "classes"
rollwatch check-rules: 5 errors in $B
WANT
diff "$TMP/want" "$TMP/out" >"$TMP/diff" && pass || fail "check-rules output differs:
$(cat "$TMP/diff")"

# start-up with bad rules fails the same way, before reading anything
echo "x" | "$RW" replay --rules "$B" /dev/stdin >"$TMP/out" 2>"$TMP/err"
expect_eq "replay with bad rules exit" 2 $?
grep -q "20-semantics.json:6:35" "$TMP/err" && pass || fail "replay: rule error not shown"
"$RW" check-rules --rules "$TMP/nonexistent" >/dev/null 2>&1
expect_eq "check-rules missing dir" 2 $?

# --- without --rules and without ./rules.d: the rules of the source tree the binary was built in
# (not installed), and a binary with none anywhere says how to name them
(cd "$TMP" && "$RW" check-rules >"$TMP/out" 2>&1)
expect_eq "check-rules from another directory" 0 $?
grep -Eq '/rules.d: [0-9]+ rules, 18 classes, OK' "$TMP/out" && pass || fail "check-rules elsewhere: $(cat "$TMP/out")"
(cd "$TMP" && "$RW" replay -q --app myapp "$SRC/examples/deploy-rollback.log" >"$TMP/out" 2>&1)
expect_eq "replay from another directory" 0 $?
grep -q '"class":"health_check"' "$TMP/out" && pass || fail "replay elsewhere found no alert: $(head -c 300 "$TMP/out")"
# (unless rules are installed where this build looks for them: its --help names the place)
installed=$("$RW" replay --help | grep -o '/[^ ,]*rollwatch/rules.d' | head -n 1)
if [ -n "$installed" ] && [ ! -d "$installed" ]; then
    mkdir -p "$TMP/lone/bin" && cp "$RW" "$TMP/lone/bin/rollwatch"
    (cd "$TMP/lone" && ./bin/rollwatch replay -q "$SRC/examples/deploy-rollback.log" >/dev/null 2>"$TMP/err")
    expect_eq "replay with no rules anywhere" 2 $?
    grep -q 'no rules: .*name them with --rules DIR' "$TMP/err" && pass || fail "no rules: $(cat "$TMP/err")"
fi

# --- test-rules on a directory that is not there says so (not "no tests in it")
"$RW" test-rules --rules "$SRC/rules.d" "$TMP/no-such-dir" >/dev/null 2>"$TMP/err"
expect_eq "test-rules on a missing directory" 2 $?
grep -q 'cannot read .*no-such-dir: No such file' "$TMP/err" && pass || fail "test-rules: $(cat "$TMP/err")"

# --- test-rules reports each failing expectation, and exits 1
"$RW" test-rules --rules "$SRC/rules.d" "$SRC/tests/data/rule-tests-failing" >"$TMP/out" 2>&1
expect_eq "test-rules failing exit" 1 $?
expect_eq "test-rules summary" "1 passed, 4 failed" "$(tail -n 1 "$TMP/out")"
grep -q 'alerts\[0\]: 0 alerts match' "$TMP/out" && pass || fail "test-rules: missing alert not reported"
grep -q 'no_rollouts\[0\]: 1 rollouts match' "$TMP/out" && pass || fail "test-rules: forbidden rollout not reported"
grep -q 'line 1: class is absent, expected "crash_loop"' "$TMP/out" && pass || fail "test-rules: record class"
grep -q 'unknown alert field "clas"' "$TMP/out" && pass || fail "test-rules: typo not reported"
"$RW" test-rules --rules "$SRC/rules.d" "$TMP/no-such-dir" >/dev/null 2>&1
expect_eq "test-rules missing dir" 2 $?
# a test file that is not JSON is an input error with its place (exit 2); the others still run
mkdir -p "$TMP/brokentests"
cp "$SRC/tests/rules/class-oom.json" "$TMP/brokentests/"
printf '{\n  "name": "x",\n  "lines": [\n    "a" "b"\n  ]\n}\n' >"$TMP/brokentests/broken.json"
"$RW" test-rules --rules "$SRC/rules.d" "$TMP/brokentests" >"$TMP/out" 2>"$TMP/err"
expect_eq "test-rules with a broken test file" 2 $?
grep -q "^$TMP/brokentests/broken.json:4:11: invalid JSON: parse error: after array element" "$TMP/err" \
    && pass || fail "broken test file: $(cat "$TMP/err")"
expect_eq "broken test file: the others ran" "1 passed, 0 failed, 1 not readable as a test" "$(tail -n 1 "$TMP/out")"
# comments are allowed in tests as in rules: the error is where the JSON breaks, not at the comment;
# a file that ends too soon is placed at its end
printf '{"a":1,\n // c\n "b": }' >"$TMP/brokentests/broken.json"
printf '{"a": [1,\n2,\n' >"$TMP/brokentests/cut.json"
"$RW" test-rules --rules "$SRC/rules.d" "$TMP/brokentests" >/dev/null 2>"$TMP/err"
grep -q "broken.json:3:7: invalid JSON: parse error: unallowed token" "$TMP/err" && pass || fail "comment: $(cat "$TMP/err")"
grep -q "cut.json:3:1: invalid JSON: parse error: premature EOF" "$TMP/err" && pass || fail "cut: $(cat "$TMP/err")"

# --- replay of the samples: the verdicts a user expects
R=(--rules "$SRC/rules.d" --app myapp -q)
"$RW" replay "${R[@]}" "$SRC/examples/deploy-success.log" >"$TMP/success" 2>&1
expect_eq "success: exit" 0 $?
expect_eq "success: no alerts" "" "$(jq -r 'select(.type == "alert") | .class' <"$TMP/success")"

"$RW" replay "${R[@]}" "$SRC/examples/deploy-rollback.log" >"$TMP/rollback"
expect_valid_ndjson "$TMP/rollback"
jq -e -s 'map(select(.type == "alert" and .class == "health_check" and .service == "web" and
                     .app == "myapp" and .status == "firing" and .ends_at == null and
                     (.fingerprint | test("^[0-9a-f]{16}$")) and (.evidence | length) >= 1 and
                     (.hint | contains("health.path")))) | length >= 1' <"$TMP/rollback" >/dev/null \
    && pass || fail "rollback: no health_check alert with the DESIGN fields"

"$RW" replay "${R[@]}" "$SRC/examples/deploy-crashloop.log" >"$TMP/crash"
expect_eq "crashloop: crash_loop alert" "crash_loop" \
    "$(jq -r 'select(.type == "alert" and .class == "crash_loop") | .class' <"$TMP/crash" | head -n 1)"
expect_eq "crashloop: not oom" "" "$(jq -r 'select(.type == "alert" and .class == "oom") | .class' <"$TMP/crash")"

# --- the same alerts, in the same order, from stdin as from replay; and twice the same
cat "$SRC/examples/deploy-rollback.log" | "$RW" run "${R[@]}" >"$TMP/live"
diff "$TMP/rollback" "$TMP/live" >/dev/null && pass || fail "run on stdin differs from replay"
"$RW" replay "${R[@]}" "$SRC/examples/deploy-rollback.log" | cmp -s - "$TMP/rollback" && pass \
    || fail "replay is not deterministic"
"$RW" "${R[@]}" <"$SRC/examples/deploy-rollback.log" >"$TMP/bare"
diff "$TMP/rollback" "$TMP/bare" >/dev/null && pass || fail "no-command run differs"

# --- --records: every line a record, failures tagged with their class and lifecycle events
"$RW" replay "${R[@]}" --records "$SRC/examples/deploy-rollback.log" >"$TMP/rec"
expect_eq "records: one per line" "$(awk 'END { print NR }' "$SRC/examples/deploy-rollback.log")" \
    "$(jq -r 'select(.type == "record") | .kind' <"$TMP/rec" | wc -l)"
jq -e -s 'map(select(.type == "record" and .class == "health_check")) | length >= 1' <"$TMP/rec" \
    >/dev/null && pass || fail "records: no health_check class"
jq -e -s 'map(select(.type == "record" and .event == "container_started")) | length >= 1' \
    <"$TMP/rec" >/dev/null && pass || fail "records: no container_started event"

# --- text output: one line per alert plus its hint
"$RW" replay "${R[@]}" --output text "$SRC/examples/deploy-crashloop.log" >"$TMP/text"
grep -Eq '^2026-[0-9T:-]+Z critical crash_loop myapp/web' "$TMP/text" && pass \
    || fail "text output: $(head -n 3 "$TMP/text")"
grep -q '^    hint: ' "$TMP/text" && pass || fail "text output has no hint line"
# text is for a terminal: quotes stay quotes, a control byte from a log line is shown, never
# sent (an ESC in a record, in an alert's summary or in a rollout's diagnosis)
{
    printf '2026-03-18T14:30:51Z service/web/web-1 {"level":"info","msg":"a \\"b\\""} tab\there\n'
    printf '2026-03-18T14:30:52Z system/k8s/web-745f845dc-rzl2q Readiness probe failed: \033[31mred\033[0m\n'
    printf '2026-03-18T14:30:53Z service/web/web-1 c1 \302\23331m csi, \303\251 stays\n'
} >"$TMP/esc.log"
"$RW" replay "${R[@]}" --records --output text "$TMP/esc.log" >"$TMP/esc.text"
grep -qF '{"level":"info","msg":"a \"b\""} tab\there' "$TMP/esc.text" && pass \
    || fail "text record not as written: $(head -n 1 "$TMP/esc.text")"
grep -qF 'Readiness probe failed: \x1B[31mred\x1B[0m' "$TMP/esc.text" && pass \
    || fail "text: ESC not shown: $(cat -v "$TMP/esc.text" | head -n 3)"
grep -qF 'c1 \u009B31m csi, '"$(printf '\303\251')"' stays' "$TMP/esc.text" && pass \
    || fail "text: a C1 control (U+009B) not shown, or an e-acute changed: $(tail -n 1 "$TMP/esc.text" | cat -v)"
if LC_ALL=C grep -q "$(printf '\033')" "$TMP/esc.text"; then
    fail "text output sends a raw ESC: $(cat -v "$TMP/esc.text" | grep -m1 '\^\[')"
else
    pass
fi
"$RW" replay "${R[@]}" --output none "$SRC/examples/deploy-crashloop.log" >"$TMP/none"
expect_eq "output none" 0 "$(wc -c <"$TMP/none")"
"$RW" replay --output yaml "$SRC/examples/deploy-crashloop.log" >/dev/null 2>&1
expect_eq "bad --output" 2 $?
"$RW" replay >/dev/null 2>&1
expect_eq "replay without files" 2 $?

# --- SIGHUP: a live run on a FIFO reloads good rules and keeps the old on bad ones
mkdir -p "$TMP/rules"
cp "$SRC"/rules.d/*.json "$TMP/rules/"
mkfifo "$TMP/fifo"
"$RW" run --rules "$TMP/rules" --app myapp <"$TMP/fifo" >"$TMP/hup.out" 2>"$TMP/hup.err" &
pid=$!
exec 3>"$TMP/fifo"
line() { echo "$1" >&3; }
wait_for() { # wait_for FILE PATTERN: up to 5 s
    for _ in $(seq 50); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    return 1
}
line '2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q Back-off restarting failed container myapp in pod web-745f845dc-rzl2q_myapp(1)'
wait_for "$TMP/hup.out" '"class":"crash_loop"' && pass || fail "live: no crash_loop alert"
# a broken rule file: reload refused, old rules still work
echo '{"rules": [' >"$TMP/rules/99-broken.json"
kill -HUP $pid
wait_for "$TMP/hup.err" 'keeping the old rules' && pass || fail "bad reload not reported: $(cat "$TMP/hup.err")"
grep -q "99-broken.json:2:1" "$TMP/hup.err" && pass || fail "bad reload error not located"
line '2026-03-18T14:31:51Z system/k8s/api-6c8f9d7b5-x2k4p Back-off restarting failed container myapp in pod api-6c8f9d7b5-x2k4p_myapp(1)'
wait_for "$TMP/hup.out" '"service":"api"' && pass || fail "old rules gone after a bad reload"
# a good new rule: taken
cat >"$TMP/rules/99-broken.json" <<'JSON'
{"rules": [{"id": "custom-hello", "when": {"message": {"prefix": "hello rollwatch"}},
  "alert": {"severity": "info", "summary": "hello from {{service}}"}}]}
JSON
kill -HUP $pid
wait_for "$TMP/hup.err" 'reloaded rules=' && pass || fail "good reload not logged"
line '2026-03-18T14:32:51Z service/web/web-745f845dc-rzl2q hello rollwatch'
wait_for "$TMP/hup.out" '"rule":"custom-hello"' && pass || fail "new rule not applied after reload"
exec 3>&-
wait $pid
expect_eq "live run exit at end of input" 0 $?

finish
