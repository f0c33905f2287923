#!/usr/bin/env bash
# replay of stored logs: several files merged by event time (split per stream, per day, in any
# order on the command line), gzip files, the progress bar on a terminal, the end summary.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
R=(--rules "$SRC/rules.d" --app myapp -q)
LOG="$SRC/examples/deploy-crashloop.log"
project() { jq -r 'select(.type != "record") | [.type, .status, (.rule // .release // ""), (.fingerprint // "")] | @tsv' "$1"; }

"$RW" replay "${R[@]}" "$LOG" >"$TMP/whole.out"

# --- one log split in two (system lines, everything else): the same alerts and rollouts
grep -E '^[0-9T:-]+Z system/' "$LOG" >"$TMP/system.log"
grep -vE '^[0-9T:-]+Z system/' "$LOG" >"$TMP/other.log"
"$RW" replay "${R[@]}" "$TMP/other.log" "$TMP/system.log" >"$TMP/split.out"
expect_eq "split: exit" 0 $?
diff <(project "$TMP/whole.out" | sort) <(project "$TMP/split.out" | sort) >"$TMP/d" && pass \
    || fail "split files give other alerts: $(head -5 "$TMP/d")"

# --- per-day files named out of order are read in time order
{ sed -n '1,100p' "$LOG"; } >"$TMP/day1.log"
{ sed -n '101,$p' "$LOG"; } >"$TMP/day2.log"
"$RW" replay "${R[@]}" "$TMP/day2.log" "$TMP/day1.log" >"$TMP/days.out"
diff <(project "$TMP/whole.out" | sort) <(project "$TMP/days.out" | sort) >"$TMP/d" && pass \
    || fail "day files out of order: $(head -5 "$TMP/d")"
expect_eq "days: verdicts in time order" "started stuck failed rolled_back" \
    "$(jq -r 'select(.type == "rollout") | .status' "$TMP/days.out" | tr '\n' ' ' | sed 's/ $//')"

# --- merged records: event times never go back across files (stable within a second)
"$RW" replay "${R[@]}" --records "$TMP/day2.log" "$TMP/day1.log" >"$TMP/rec.out"
expect_eq "merged records are in time order" "" \
    "$(jq -r 'select(.type == "record" and .ts != null) | .ts' "$TMP/rec.out" | sort -c 2>&1 | head -1)"
expect_eq "every line once" "$(awk 'END { print NR }' "$LOG")" \
    "$(jq -r 'select(.type == "record")' "$TMP/rec.out" | jq -s length)"

# --- gzip: the same output as plain; a mix of both merges
gzip -c "$LOG" >"$TMP/crash.log.gz"
"$RW" replay "${R[@]}" "$TMP/crash.log.gz" >"$TMP/gz.out"
cmp -s "$TMP/whole.out" "$TMP/gz.out" && pass || fail ".gz output differs from plain"
gzip -c "$TMP/system.log" >"$TMP/system.log.gz"
"$RW" replay "${R[@]}" "$TMP/other.log" "$TMP/system.log.gz" >"$TMP/mix.out"
diff <(project "$TMP/whole.out" | sort) <(project "$TMP/mix.out" | sort) >/dev/null && pass \
    || fail "plain + gz mix differs"
head -c 1000 "$TMP/crash.log.gz" >"$TMP/cut.log.gz"
"$RW" replay "${R[@]}" "$TMP/cut.log.gz" >/dev/null 2>"$TMP/cut.err"
expect_eq "a cut .gz: exit 1" 1 $?
grep -q "error ingest: read failed: unexpected end of file (a truncated .gz?) path=$TMP/cut.log.gz" \
    "$TMP/cut.err" && pass || fail "a cut .gz is not named: $(cat "$TMP/cut.err")"

# --- unreadable inputs are named, the others replayed, exit 1
"$RW" replay "${R[@]}" "$TMP/nope.log" "$LOG" >"$TMP/partial.out" 2>"$TMP/err"
expect_eq "missing file: exit 1" 1 $?
grep -q 'nope.log' "$TMP/err" && pass || fail "missing file not named"
cmp -s "$TMP/whole.out" "$TMP/partial.out" && pass || fail "the readable file was not replayed fully"
"$RW" replay "${R[@]}" "$TMP" >/dev/null 2>&1
expect_eq "a directory: exit 1" 1 $?
cat "$LOG" | "$RW" replay "${R[@]}" - >"$TMP/stdin.out"
cmp -s "$TMP/whole.out" "$TMP/stdin.out" && pass || fail "replay of - (stdin) differs"

# --- --report: per rollout the verdict, diagnosis, hint, failures and a timeline
"$RW" replay "${R[@]}" --output none --report text "$LOG" >"$TMP/report.txt"
expect_eq "report: exit" 0 $?
grep -q '^== myapp RJWPHTKDCV: rolled_back after 20m29s$' "$TMP/report.txt" && pass \
    || fail "report: no headline: $(head -2 "$TMP/report.txt")"
grep -q '^   diagnosis: web: container keeps crashing' "$TMP/report.txt" && pass || fail "report: diagnosis"
grep -q '^   hint: .*scale.memory' "$TMP/report.txt" && pass || fail "report: hint"
grep -qE '^     \+0s +atom +Running => Pending$' "$TMP/report.txt" && pass || fail "report: timeline start"
grep -qE '^     web-7d5c9f8b46-tq2xw: pod_created \+2s, .*!crash_loop \+32s' "$TMP/report.txt" && pass \
    || fail "report: a pod's life"
"$RW" replay "${R[@]}" --output none --report json --report-out "$TMP/report.json" \
    "$SRC/examples/deploy-rollback.log" "$SRC/examples/deploy-success.log" >"$TMP/stdout"
expect_eq "report-out: nothing on stdout" 0 "$(wc -c <"$TMP/stdout")"
jq -e '.type == "report" and (.rollouts | length == 2) and
       (.rollouts | map(.status) | sort == ["rolled_back", "succeeded"]) and
       (.rollouts[] | select(.status == "rolled_back") | (.failures | map(.class)) == ["health_check"]
        and (.timeline | length > 10) and (.transitions | index("Rollback => Reverted") != null)
        and (.hint | contains("health.path")))' "$TMP/report.json" >/dev/null && pass \
    || fail "report json: $(head -c 400 "$TMP/report.json")"
"$RW" replay "${R[@]}" --report pdf "$LOG" >/dev/null 2>&1
expect_eq "bad --report" 2 $?
# a report that would break the NDJSON on stdout, a report path that cannot be written (found
# before the replay, not after), a report asked of run: each refused up front
"$RW" replay "${R[@]}" --output json --report text "$LOG" >"$TMP/mix.out" 2>"$TMP/mix.err"
expect_eq "text report after NDJSON on stdout" 2 $?
expect_eq "nothing replayed when refused" "" "$(cat "$TMP/mix.out")"
grep -q 'name a file with --report-out, or add --output none' "$TMP/mix.err" && pass || fail "mix: $(cat "$TMP/mix.err")"
"$RW" replay "${R[@]}" --output json --report json "$LOG" >"$TMP/rj.out"
expect_valid_ndjson "$TMP/rj.out"
expect_eq "a JSON report is one more NDJSON line" report "$(tail -n 1 "$TMP/rj.out" | jq -r .type)"
"$RW" replay "${R[@]}" --output json --report-out "$TMP/no/such/dir/r.txt" "$LOG" >"$TMP/ro.out" 2>"$TMP/ro.err"
expect_eq "unwritable --report-out" 1 $?
expect_eq "unwritable --report-out: nothing replayed" "" "$(cat "$TMP/ro.out")"
grep -q "cannot write the report: No such file or directory path=$TMP/no/such/dir/r.txt" "$TMP/ro.err" \
    && pass || fail "unwritable --report-out: $(cat "$TMP/ro.err")"
"$RW" run "${R[@]}" --report text </dev/null >/dev/null 2>&1
expect_eq "--report with run" 2 $?
# a rollout still under way when the log ends: the report shows it as the log leaves it (every
# event up to the end, not green), and stdout gets no event for it (nothing changed status)
L="$SRC/tests/scenarios/log-ends-before-deadline.log"
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report json "$L" >"$TMP/ip.json"
jq -e '.rollouts[0] | .in_progress == true and .status == "started" and .at == "2026-05-22T12:08:00Z"
       and (.timeline | length > 5)' "$TMP/ip.json" >/dev/null && pass \
    || fail "in-progress report: $(head -c 400 "$TMP/ip.json")"
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report text "$L" >"$TMP/ip.txt"
grep -q 'still under way when the log ends, 8m00s in' "$TMP/ip.txt" && pass || fail "in-progress text: $(head -3 "$TMP/ip.txt")"
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report html "$L" >"$TMP/ip.html"
grep -q 'class="status bad">still under way' "$TMP/ip.html" && pass || fail "in-progress html is not marked"
expect_eq "in progress: stdout has only the start" "started" \
    "$("$RW" replay --rules "$SRC/rules.d" --app myapp -q --report-out "$TMP/ip2.txt" "$L" | jq -r .status | tr '\n' ' ' | sed 's/ $//')"
# a deploy transcript without a timestamp: its times are unknown, not 1970
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report text \
    "$SRC/tests/scenarios/transcript-only-ok.log" >"$TMP/tr.txt"
grep -q 'times unknown (no timestamp in the log)' "$TMP/tr.txt" && ! grep -q 1970 "$TMP/tr.txt" && pass \
    || fail "transcript-only report: $(head -c 300 "$TMP/tr.txt")"
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report json \
    "$SRC/tests/scenarios/transcript-only-ok.log" >"$TMP/tr.json"
jq -e '.rollouts[0] | .started_at == null and .at == null and .status == "succeeded"' "$TMP/tr.json" \
    >/dev/null && pass || fail "transcript-only JSON report: $(head -c 300 "$TMP/tr.json")"
# a failed rollback with no pod failure behind it still says what to do: its class's hint
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report json \
    "$SRC/tests/scenarios/rollback-failed.log" >"$TMP/rbf.json"
jq -e '.rollouts[] | select(.status == "rollback_failed") | .hint | test("rollback")' "$TMP/rbf.json" \
    >/dev/null && pass || fail "rollback_failed report hint: $(head -c 300 "$TMP/rbf.json")"

# --- on a terminal: a progress bar on stderr, then the summary
for _ in $(seq 150); do cat "$LOG"; done >"$TMP/big.log"

# --- replay parses on a second thread and hands records over in batches: across many batches
# the result and the counts are the same as parsing on the loop (run reading stdin)
"$RW" replay --rules "$SRC/rules.d" --app myapp --records "$TMP/big.log" >"$TMP/big.replay" \
    2>"$TMP/big.replay.err"
expect_eq "big replay: exit" 0 $?
"$RW" run --rules "$SRC/rules.d" --app myapp --records <"$TMP/big.log" >"$TMP/big.run" \
    2>"$TMP/big.run.err"
cmp -s "$TMP/big.replay" "$TMP/big.run" && pass || fail "replay and run differ on $(wc -l <"$TMP/big.log") lines"
# and the alerts replay writes are the same bytes as run's, in each format
for fmt in json text; do
    "$RW" replay --rules "$SRC/rules.d" --app myapp -q --output $fmt "$TMP/big.log" >"$TMP/big.r.$fmt"
    "$RW" run --rules "$SRC/rules.d" --app myapp -q --output $fmt <"$TMP/big.log" >"$TMP/big.s.$fmt"
    [ -s "$TMP/big.r.$fmt" ] && cmp -s "$TMP/big.r.$fmt" "$TMP/big.s.$fmt" && pass \
        || fail "replay and run differ, --output $fmt"
done
"$RW" replay --rules "$SRC/rules.d" --app myapp -q "$TMP/big.log" >/dev/full 2>"$TMP/full.err"
expect_eq "stdout full: exit" 1 $?
grep -q 'writing to stdout failed' "$TMP/full.err" && pass || fail "stdout full: $(cat "$TMP/full.err")"
# a rule set too large for the compacted bit sets (over 64 words a record) crosses as it is
mkdir -p "$TMP/many.d"
cp "$SRC"/rules.d/*.json "$TMP/many.d/"
{
    echo '{"rules":['
    for i in $(seq 1 2100); do
        [ "$i" -gt 1 ] && echo ','
        echo "{\"id\":\"t$i\",\"when\":{\"kind\":\"app\",\"message\":{\"contains\":\"tok$i \"}},\"event\":\"e$i\"}"
    done
    echo ']}'
} >"$TMP/many.d/50-many.json"
for i in $(seq 1 2200); do
    echo "2026-04-22T09:14:0$((i % 10))Z service/web/web-7d5c9f8b46-tq2xw tok$((i % 2200)) up"
done >"$TMP/many.log"
cat "$LOG" >>"$TMP/many.log"
"$RW" replay --rules "$TMP/many.d" -q --records "$TMP/many.log" >"$TMP/many.replay"
"$RW" run --rules "$TMP/many.d" -q --records <"$TMP/many.log" >"$TMP/many.run"
cmp -s "$TMP/many.replay" "$TMP/many.run" && pass || fail "replay and run differ with 2,100 more rules"
expect_eq "2,100 more rules: tagged (tok1 to tok2100)" 2100 "$(grep -c '"event":"e' "$TMP/many.replay")"
expect_eq "big replay: every line a record" "$(wc -l <"$TMP/big.log")" \
    "$(jq -c 'select(.type == "record")' "$TMP/big.replay" | wc -l)"
grep -o '^rollwatch: [0-9]* lines' "$TMP/big.replay.err" >"$TMP/c1"
grep -o '^rollwatch: [0-9]* lines' "$TMP/big.run.err" >"$TMP/c2"
expect_eq "big replay: summary counts" "$(cat "$TMP/c2")" "$(cat "$TMP/c1")"

# --- every shape of line crosses between the threads intact (records travel packed): the
# examples, kubectl lines, a transcript, CRLF, invalid UTF-8, NUL bytes, a cut line, no time
{
    cat "$SRC"/examples/*.log
    printf 'Promoting RABCDEFGHI...\r\n2026-03-18T14:40:00Z service/web/web-1 caf\xc3 \xff\x00x\n'
    printf '2026-03-18T14:40:01Z system/k8s/atom/app Status: Running => Pending\r\n'
    printf '[pod/web-7d5c9f8b46-tq2xw/web] 2026-03-18T14:40:02.123456789Z hello\n'
    printf '2026-03-18T14:40:03Z service/web/web-7d5c9f8b46-tq2xw '
    head -c 3000 /dev/zero | tr '\0' 'y'
    printf '\nno newline at the end'
} >"$TMP/shapes.log"
"$RW" replay --rules "$SRC/rules.d" --app myapp --records --max-line 1000 "$TMP/shapes.log" \
    >"$TMP/shapes.replay" 2>/dev/null
"$RW" run --rules "$SRC/rules.d" --app myapp --records --max-line 1000 <"$TMP/shapes.log" \
    >"$TMP/shapes.run" 2>/dev/null
cmp -s "$TMP/shapes.replay" "$TMP/shapes.run" && pass \
    || fail "replay and run differ on odd lines: $(diff "$TMP/shapes.replay" "$TMP/shapes.run" | head -4)"
expect_eq "odd lines: every one a record" "$(($(wc -l <"$TMP/shapes.log") + 1))" \
    "$(jq -c 'select(.type == "record")' "$TMP/shapes.replay" | wc -l)"

# --- the reader decides the rules' condition lists ahead, tags and captures included, up to the
# first rule that needs state: rules built to reach every corner of that give the same output
# as run, which decides everything on the loop. Captures into a parser field (pod) and into new
# fields, tested by later rules and used in templates; a capture of the app label (outside the
# line: the engine decides that record itself); more captures in one record than cross with it;
# a test of release (the tracker's), a recent condition and a resolve list (state) in between.
# (The same fields captured by three lists: 34 captures, more than cross with a record.)
# RW_REPLAY_AHEAD_ALWAYS makes the reader decide every batch, whichever thread is faster.
mkdir -p "$TMP/ahead.d"
cat >"$TMP/ahead.d/10-ahead.json" <<'RULES'
{"classes": {"crash_loop": {"severity": "critical", "summary": "{{service}} crashes", "hint": "h"}},
 "rules": [
  {"id": "rs-created", "when": {"kind": "k8s", "message": {"prefix": "Created pod: "}},
   "alert": {"severity": "info", "summary": "on {{replicaset}}: pod [{{pod}}]", "key": ["replicaset"]}},
  {"id": "created", "when": {"kind": "k8s", "message": {"regex": "^Created pod: (?<pod>[a-z0-9-]+)"}},
   "event": "pod_created"},
  {"id": "web-pod", "when": {"event": "pod_created", "pod": {"prefix": "web-"}},
   "alert": {"severity": "info", "summary": "new web pod {{pod}}", "key": ["pod"]}},
  {"id": "pulling", "when": {"kind": "k8s",
    "message": {"regex": "^Pulling image \"(?<registry>[^/\"]+)/(?<repo>[^:\"]+):(?<tag>[^\"]+)\""}},
   "event": "image_pulling"},
  {"id": "by-tag", "when": {"event": "image_pulling", "tag": {"suffix": ".B2"}},
   "alert": {"severity": "warning", "summary": "{{repo}} at {{tag}} from {{registry}}", "key": ["pod"]}},
  {"id": "team", "when": {"app": {"regex": "^(?<team>[a-z]{2})"}, "kind": "app"},
   "alert": {"severity": "info", "summary": "team {{team}}", "key": ["pod"]}},
  {"id": "team-seen", "when": {"team": {"equals": "my"}, "message": {"prefix": "panic"}},
   "alert": {"severity": "info", "summary": "{{team}} panics", "key": ["pod"]}},
  {"id": "many", "when": {"kind": "app", "message": {"regex":
    "^m (?<build>.)(?<cli>.)(?<container>.)(?<object>.)(?<pod>.)(?<pod_status>.)(?<replicaset>.)(?<service>.)(?<status_from>.)(?<status_to>.)(?<stream>.)"}},
   "event": "many1"},
  {"id": "many-2", "when": {"kind": "app", "message": {"regex":
    "^m .{11}(?<build>.)(?<cli>.)(?<container>.)(?<object>.)(?<pod>.)(?<pod_status>.)(?<replicaset>.)(?<service>.)(?<status_from>.)(?<status_to>.)(?<stream>.)"}},
   "class": "crash_loop", "alert": {"key": ["app"]}},
  {"id": "many-3", "when": {"kind": "app", "message": {"regex":
    "^m .{22}(?<build>.)(?<cli>.)(?<container>.)(?<object>.)(?<pod>.)(?<pod_status>.)(?<replicaset>.)(?<service>.)(?<status_from>.)(?<status_to>.)(?<stream>.)"}},
   "alert": {"severity": "info", "summary": "third {{build}}", "key": ["app"]}},
  {"id": "many-seen", "when": {"event": "many1", "stream": {"equals": "g"}},
   "alert": {"severity": "info", "summary": "{{build}} {{stream}}", "key": ["app"]}},
  {"id": "released", "when": {"kind": "k8s", "release": {"present": true}, "message": {"prefix": "Started"}},
   "event": "started_in_release"},
  {"id": "after-release", "when": {"event": "started_in_release", "pod": {"prefix": "web-"}},
   "alert": {"severity": "info", "summary": "{{pod}} started in {{release}}", "key": ["pod"]}},
  {"id": "backoff", "when": {"kind": "k8s", "message": {"prefix": "Back-off"}},
   "recent": {"event": "pod_created", "within": "1m", "key": ["pod"]},
   "alert": {"severity": "warning", "summary": "{{pod}} backs off right after creation", "key": ["pod"]},
   "resolve": {"kind": "k8s", "message": {"prefix": "Started container"}}}
 ]}
RULES
{
    cat "$LOG"
    for i in $(seq 1 400); do
        t=$(printf '2026-03-18T15:%02d:%02dZ' $((i / 60)) $((i % 60)))
        p="web-7d5c9f8b46-p$((i % 7))xyz"
        echo "$t system/k8s/web-7d5c9f8b46 Created pod: $p"
        echo "$t system/k8s/$p Pulling image \"registry.host/convox/myapp:web.B$((i % 3))\""
        echo "$t system/k8s/$p Back-off restarting failed container myapp in pod ${p}_x(1)"
        echo "$t service/web/$p m ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi$((i % 2))"
        echo "$t service/web/$p panic: at $i"
        echo "$t system/k8s/$p Started container myapp"
    done
} >"$TMP/ahead.log"
RW_REPLAY_AHEAD_ALWAYS=1 "$RW" replay --rules "$TMP/ahead.d" --app myapp -q --records \
    "$TMP/ahead.log" >"$TMP/ahead.replay"
"$RW" replay --rules "$TMP/ahead.d" --app myapp -q --records "$TMP/ahead.log" >"$TMP/ahead.mixed"
"$RW" run --rules "$TMP/ahead.d" --app myapp -q --records <"$TMP/ahead.log" >"$TMP/ahead.run"
cmp -s "$TMP/ahead.replay" "$TMP/ahead.run" && pass \
    || fail "replay and run differ with captures and state: $(diff "$TMP/ahead.replay" "$TMP/ahead.run" | head -4)"
cmp -s "$TMP/ahead.mixed" "$TMP/ahead.run" && pass \
    || fail "replay and run differ as replay balances: $(diff "$TMP/ahead.mixed" "$TMP/ahead.run" | head -4)"
for r in rs-created web-pod by-tag team-seen many-2 many-seen after-release backoff; do
    n=$(jq -r --arg r "$r" 'select(.type == "alert" and .rule == $r) | .rule' "$TMP/ahead.replay" | wc -l)
    [ "$n" -gt 0 ] && pass || fail "rule $r never alerted: the log does not reach it"
done
expect_eq "a capture a template uses" 1 \
    "$(jq -r 'select(.rule == "web-pod") | .summary' "$TMP/ahead.replay" | sort -u |
        grep -cx 'new web pod web-7d5c9f8b46-p0xyz')"
expect_eq "the last of three lists' captures of the same fields" "W g" \
    "$(jq -r 'select(.rule == "many-seen") | .summary' "$TMP/ahead.replay" | sort -u)"

# --- SIGHUP in the middle: the batches the reader tested ahead with the old rules are evaluated
# in full by the new ones (same text: their state carries over), so nothing changes
# (zlib fills its whole read buffer, 320 KiB, before it returns: feed much more than that)
for _ in 1 2 3 4; do cat "$TMP/big.log"; done >"$TMP/hup.log"
"$RW" replay --rules "$SRC/rules.d" --app myapp "$TMP/hup.log" >"$TMP/nohup.out" 2>/dev/null
mkfifo "$TMP/in.fifo"
"$RW" replay --rules "$SRC/rules.d" --app myapp - <"$TMP/in.fifo" >"$TMP/hup.out" 2>"$TMP/hup.err" &
pid=$!
exec 3>"$TMP/in.fifo"
half=$(($(wc -l <"$TMP/hup.log") / 2))
head -n "$half" "$TMP/hup.log" >&3
# the loop is up once a batch's alerts are out (its SIGHUP handler too)
for _ in $(seq 100); do [ -s "$TMP/hup.out" ] && break; sleep 0.1; done
kill -HUP "$pid"
for _ in $(seq 100); do grep -q 'reloaded rules' "$TMP/hup.err" && break; sleep 0.1; done
grep -q 'reloaded rules' "$TMP/hup.err" && pass || fail "SIGHUP: no reload: $(tail -3 "$TMP/hup.err")"
tail -n +"$((half + 1))" "$TMP/hup.log" >&3
exec 3>&-
wait "$pid"
expect_eq "SIGHUP: exit" 0 $?
grep -q 'AddressSanitizer\|runtime error' "$TMP/hup.err" && fail "SIGHUP: $(head -5 "$TMP/hup.err")" || pass
cmp -s "$TMP/nohup.out" "$TMP/hup.out" && pass \
    || fail "SIGHUP changed the output: $(diff "$TMP/nohup.out" "$TMP/hup.out" | head -5)"

# --- a line longer than a batch's buffer (512 KiB) between ordinary ones
{
    head -3 "$LOG"
    printf '2026-03-18T14:31:00Z service/web/web-7d5c9f8b46-tq2xw '
    head -c 600000 /dev/zero | tr '\0' 'x'
    printf '\n'
    sed -n '4,6p' "$LOG"
} >"$TMP/long.log"
"$RW" replay "${R[@]}" --records --max-line 1000000 "$TMP/long.log" >"$TMP/long.out"
expect_eq "long line: exit" 0 $?
expect_eq "long line: its message whole" 600000 \
    "$(jq -r 'select(.type == "record" and .kind == "app") | .message | length' "$TMP/long.out" | sort -n | tail -1)"
expect_eq "long line: the lines around it" 7 "$(jq -c 'select(.type == "record")' "$TMP/long.out" | wc -l)"
diff <(jq -r 'select(.type == "record") | .message' "$TMP/long.out" | grep -v '^xxxx') \
    <(cat "$LOG" | head -6 | "$RW" parse | jq -r .message) >/dev/null && pass \
    || fail "long line: the lines around it changed"

# --- stopped by SIGINT in the middle (its output blocked on a slow reader, so it is surely
# still running): it ends cleanly, the reader thread joined, with part of the records
for _ in $(seq 8); do cat "$TMP/big.log"; done >"$TMP/huge.log"
mkfifo "$TMP/fifo"
# the first byte out says the loop runs (and its SIGINT handler is in place: a background job
# of a script starts with SIGINT ignored); the rest waits a second
{ dd bs=1 count=1 2>/dev/null; sleep 1; cat; } <"$TMP/fifo" >"$TMP/huge.out" &
reader=$!
"$RW" replay "${R[@]}" --records "$TMP/huge.log" >"$TMP/fifo" 2>"$TMP/huge.err" &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/huge.out" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
wait "$reader"
[ "$rc" -lt 128 ] && pass || fail "replay killed by SIGINT instead of stopping: rc $rc $(tail -3 "$TMP/huge.err")"
grep -q 'AddressSanitizer\|runtime error' "$TMP/huge.err" && fail "SIGINT: $(head -5 "$TMP/huge.err")" || pass
expect_valid_ndjson "$TMP/huge.out"
n=$(jq -c 'select(.type == "record")' "$TMP/huge.out" | wc -l)
[ "$n" -gt 0 ] && [ "$n" -lt "$(wc -l <"$TMP/huge.log")" ] && pass || fail "SIGINT: $n records of $(wc -l <"$TMP/huge.log")"
script -qec "'$RW' replay --rules '$SRC/rules.d' --app myapp --output none '$TMP/big.log'" /dev/null \
    >"$TMP/tty.out" 2>&1
grep -q 'lines/s' "$TMP/tty.out" && pass || fail "no progress bar on a terminal: $(head -c 300 "$TMP/tty.out")"
grep -q 'rollouts: 1 started' "$TMP/tty.out" && pass || fail "no summary of rollouts: $(tail -5 "$TMP/tty.out")"
grep -q 'failures: health_check' "$TMP/tty.out" && pass || fail "no summary of failures"
"$RW" replay "${R[@]}" "$TMP/big.log" 2>&1 >/dev/null | grep -q 'lines/s' && fail "progress bar without a terminal" || pass

# --- a rollout under way outlives the state expiry while its events keep coming: each event
# refreshes it, so its end reports the whole rollout and what it saw
mkdir -p "$TMP/expire.d"
cp "$SRC"/rules.d/*.json "$TMP/expire.d/"
echo '{ "settings": { "state_expire": "1m" } }' >"$TMP/expire.d/99-settings.json"
{
    echo "2026-03-18T14:30:00Z system/k8s/atom/myapp Status: Running => Pending"
    for t in 30 60 90 120 150 180; do
        printf '2026-03-18T14:%02d:%02dZ system/k8s/web-745f845dc-rzl2q Back-off restarting failed container web in pod web-745f845dc-rzl2q_myapp(1a2b)\n' $((30 + t / 60)) $((t % 60))
    done
    echo "2026-03-18T14:33:20Z system/k8s/atom/myapp Status: Pending => Running"
} >"$TMP/expire.log"
"$RW" replay -q --rules "$TMP/expire.d" --app myapp "$TMP/expire.log" >"$TMP/expire.out"
expect_eq "rollout past the state expiry" '{"status":"succeeded","duration_s":200,"crash_loop":6}' \
    "$(jq -c 'select(.type == "rollout" and .status == "succeeded") | {status, duration_s, crash_loop: .failures.crash_loop}' "$TMP/expire.out")"

# --- an app no line names is unknown: null in rollouts, in rollout alerts and in the report,
# as on pod alerts (not ""), and "?" in the templates; --app names it everywhere
"$RW" replay -q --rules "$SRC/rules.d" --output json --report json --report-out "$TMP/noapp.report.json" \
    "$SRC/examples/deploy-crashloop.log" >"$TMP/noapp.out" 2>/dev/null || true
expect_eq "apps of the rollouts, alerts and report without --app" "null" \
    "$( (jq -r 'select(.type == "rollout" or .type == "alert") | .app | tojson' "$TMP/noapp.out"
        jq -r '.rollouts[].app | tojson' "$TMP/noapp.report.json") | sort -u | tr '\n' ' ' | sed 's/ $//')"
n=$(jq -r 'select(.type == "alert" and .rule == "rollout-stuck") | .summary' "$TMP/noapp.out" | grep -c '^?: ' || true)
if [ "$n" -ge 1 ]; then pass; else fail "rollout-stuck summary without its app placeholder: $(grep -m1 rollout-stuck "$TMP/noapp.out" | head -c 300)"; fi
"$RW" replay -q --rules "$SRC/rules.d" --output json --app myapp "$SRC/examples/deploy-crashloop.log" \
    >"$TMP/app.out" 2>/dev/null || true
expect_eq "apps with --app myapp" '"myapp"' \
    "$(jq -r 'select(.type == "rollout" or .type == "alert") | .app | tojson' "$TMP/app.out" | sort -u)"

# --- a resolved notice repeats its alert: every field from "rule" to "starts_at" equals the
# last firing alert of its fingerprint (stdout keeps that part of each alert's JSON by
# fingerprint, in a table of 1,024 slots, some of them shared by several fingerprints here)
bash "$SRC/bench/gen-logs.sh" 30000 11 >"$TMP/memo.log"
"$RW" replay -q --rules "$SRC/rules.d" --output json "$TMP/memo.log" >"$TMP/memo.out"
python3 - "$TMP/memo.out" <<'PYEOF' && pass || fail "a resolved notice differs from its alert"
import json, sys
keys = ["rule", "class", "severity", "app", "service", "pod", "release", "summary", "hint", "starts_at"]
last, resolved, fps = {}, 0, set()
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") != "alert":
        continue
    fp = o["fingerprint"]
    if o["status"] == "firing":
        last[fp] = [o[k] for k in keys]
        fps.add(fp)
    else:
        assert fp in last, fp
        assert [o[k] for k in keys] == last[fp], (fp, o)
        resolved += 1
# fingerprints that share a slot (its last three hex digits, mod 1,024): the table's takeovers
slots = {}
for fp in fps:
    slots.setdefault(int(fp[13:16], 16) % 1024, set()).add(fp)
shared = sum(1 for v in slots.values() if len(v) > 1)
assert resolved > 500 and shared >= 10, (resolved, shared)
PYEOF

# --- a NUL in the line ends a rendered summary or hint, in JSON as in text (every sink reads
# the text up to it)
mkdir -p "$TMP/nulrules"
cat >"$TMP/nulrules/r.json" <<'JSON'
{ "rules": [ { "id": "boom", "when": { "kind": "app", "message": { "prefix": "boom" } },
  "event": "boom", "alert": { "severity": "warning", "summary": "S {{message}} E", "hint": "H {{message}} I" } } ] }
JSON
printf '2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q boom\000after\n' >"$TMP/nul.log"
expect_eq "summary and hint up to the NUL" '{"summary":"S boom","hint":"H boom"}' \
    "$("$RW" replay -q --rules "$TMP/nulrules" --output json "$TMP/nul.log" | jq -c 'select(.type == "alert") | {summary, hint}')"

# --- the text report shows a log's control bytes (\xNN; C1 controls as \u00XX, as stdout's
# text does) and never sends them to the terminal
printf '2026-03-18T14:30:51Z system/k8s/atom/app Status: Running => Pending\n2026-03-18T14:30:52Z system/k8s/atom/app Status: Pending => Updating\n2026-03-18T14:30:53Z system/k8s/web-745f845dc-rzl2q Readiness probe failed: \033[31mred\033[0m \302\233c1\n2026-03-18T14:41:00Z system/k8s/atom/app Status: Updating => Deadline\n' >"$TMP/escrep.log"
"$RW" replay -q --rules "$SRC/rules.d" --report text --output none "$TMP/escrep.log" >"$TMP/escrep.out"
grep -qF 'Readiness probe failed: \x1B[31mred\x1B[0m \u009Bc1' "$TMP/escrep.out" && pass \
    || fail "report: the ESC not shown: $(cat -v "$TMP/escrep.out" | head -n 5)"
if LC_ALL=C grep -q "$(printf '\033')" "$TMP/escrep.out"; then fail "report sends a raw ESC"; else pass; fi

finish
