#!/usr/bin/env bash
# --exec with real child processes: restarted when it exits, the lines a restarted
# `convox logs --since` sends again skipped, stderr logged, arguments split without a shell.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
R=(--rules "$SRC/rules.d" --app myapp -q --records --output json)
seen() { cat "$@" | grep -o '"message":"seq [0-9]*' | awk '{ print $2 }'; }

# a fake `convox logs --since`: each run re-sends part of what the last one sent
cat >"$TMP/fake-convox-logs" <<'SH'
#!/bin/sh
state="$1"
run=$(cat "$state" 2>/dev/null || echo 0)
run=$((run + 1))
echo "$run" >"$state"
emit() { i=$1; while [ "$i" -le "$2" ]; do echo "2026-03-18T14:30:$(printf %02d "$i")Z service/web/web-745f845dc-rzl2q seq $i"; i=$((i + 1)); done; }
case $run in
1) emit 1 5 ;;
2) emit 3 8; echo "rate limited, retrying" >&2; exit 1 ;;
*) emit 7 10; exec sleep 60 ;;
esac
SH
chmod +x "$TMP/fake-convox-logs"
"$RW" run "${R[@]}" --exec "'$TMP/fake-convox-logs' '$TMP/state'" >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 150); do [ "$(seen "$TMP/out" | wc -l)" -ge 10 ] && break; sleep 0.1; done
sleep 0.3
kill -TERM $pid
wait $pid
expect_eq "exit on SIGTERM" 0 $?
expect_eq "three runs" 3 "$(cat "$TMP/state")"
expect_eq "every line once, overlap skipped" "1 2 3 4 5 6 7 8 9 10" "$(seen "$TMP/out" | tr '\n' ' ' | sed 's/ $//')"
grep -q 'exec stderr: rate limited, retrying' "$TMP/err" && pass || fail "stderr not logged: $(cat "$TMP/err")"
grep -q 'exec exited status=1' "$TMP/err" && pass || fail "exit status not logged"
grep -q 'exec restarting in' "$TMP/err" && pass || fail "restart not logged"
expect_eq "lines labelled with the app" "myapp" "$(jq -r 'select(.type == "record") | .app' "$TMP/out" | sort -u)"

# --- arguments: quotes and backslashes as a shell would split them, but no shell runs
cat >"$TMP/args" <<'SH'
#!/bin/sh
for a in "$@"; do echo "arg=[$a]"; done
exec sleep 60
SH
chmod +x "$TMP/args"
"$RW" run "${R[@]}" --exec "$TMP/args 'one two' \"three \\\"3\\\"\" four\\ 4 \$HOME '*'" >"$TMP/out2" 2>/dev/null &
pid=$!
for _ in $(seq 50); do [ "$(grep -c 'arg=' "$TMP/out2")" -ge 5 ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
expect_eq "split like a shell, no expansion" 'arg=[one two]|arg=[three "3"]|arg=[four 4]|arg=[$HOME]|arg=[*]' \
    "$(jq -r 'select(.type == "record") | .message' "$TMP/out2" | tr '\n' '|' | sed 's/|$//')"

# --- a command that does not exist: logged, retried, and SIGTERM still ends cleanly
"$RW" run "${R[@]}" --exec "/nonexistent/convox logs" >/dev/null 2>"$TMP/err3" &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid
expect_eq "missing command: exit on SIGTERM" 0 $?
grep -q 'cannot run the exec command: no such file or directory' "$TMP/err3" && pass \
    || fail "missing command not reported: $(head -3 "$TMP/err3")"
"$RW" run "${R[@]}" --exec "convox logs 'unterminated" </dev/null >/dev/null 2>"$TMP/err4"
expect_eq "bad quoting" 2 $?
grep -q 'unterminated single quote' "$TMP/err4" && pass || fail "bad quoting not explained"
"$RW" replay "${R[@]}" --exec "true" /dev/null >/dev/null 2>&1
expect_eq "--exec with replay" 2 $?

finish
