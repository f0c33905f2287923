#!/usr/bin/env bash
# Webhooks against real HTTP servers on 127.0.0.1: retries (500, 429 + Retry-After), dead
# letters (400), a slow server, a server that appears late, HMAC signatures, the formats, and
# kill -9 mid-delivery then restart (every alert arrives at least once).
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
SERVER="$SRC/tests/http/server.py"
R=(--rules "$SRC/rules.d" --app myapp -q)
LOG="$SRC/examples/deploy-crashloop.log"
SERVERS=()
trap 'for s in "${SERVERS[@]}"; do kill "$s" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# start_server NAME [server args...]: starts it, sets PORT
start_server() {
    local name=$1
    shift
    rm -f "$TMP/$name.port"
    # 3>&-: a server must not hold the test's FIFO open (rollwatch would never see its end)
    python3 "$SERVER" --port-file "$TMP/$name.port" --log "$TMP/$name.log" "$@" 3>&- &
    SERVERS+=($!)
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    PORT=$(cat "$TMP/$name.port")
}

# how many alert/rollout objects the sample produces (what every receiver must get)
"$RW" replay "${R[@]}" "$LOG" >"$TMP/stdout.json"
WANT=$(wc -l <"$TMP/stdout.json")
[ "$WANT" -gt 5 ] && pass || fail "sample produced only $WANT objects"

# --- 500 then 200: retried with the same delivery id, nothing lost, in order
start_server s500 --script 500,502,200
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" "$LOG" >/dev/null 2>"$TMP/err"
expect_eq "500: exit" 0 $?
expect_eq "500: three tries of the first delivery" "500 502 200" \
    "$(jq -r '.status' "$TMP/s500.log" | head -n 3 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "500: same id on every try" 1 "$(jq -r '.headers["X-Rollwatch-Delivery"]' "$TMP/s500.log" | head -n 3 | sort -u | wc -l)"
expect_eq "500: delivered = produced" "$WANT" "$(jq -r 'select(.status == 200) | .headers["X-Rollwatch-Delivery"]' "$TMP/s500.log" | sort -u | wc -l)"
jq -c 'select(.status == 200) | .body | fromjson | del(.evidence)' "$TMP/s500.log" >"$TMP/got"
jq -c 'del(.evidence)' "$TMP/stdout.json" >"$TMP/want"
diff "$TMP/want" "$TMP/got" >/dev/null && pass || fail "500: generic bodies differ from stdout objects (or order)"
grep -q 'status=500 attempt=1' "$TMP/err" && pass || fail "500: no retry log line: $(cat "$TMP/err")"

# --- --metrics-interval: the last snapshot on stdout comes after the drain, so it counts every
# delivery (the snapshot itself included) and an empty queue; the webhook gets one too
start_server snap
"$RW" replay "${R[@]}" --metrics-interval 60 --webhook "http://127.0.0.1:$PORT/hook" "$LOG" \
    >"$TMP/snap.out" 2>/dev/null
expect_eq "snapshot: exit" 0 $?
expect_eq "snapshot: delivered and queued at the end" "$((WANT + 1)) 0" \
    "$(grep '"type":"metrics"' "$TMP/snap.out" | tail -n 1 | jq -r '.metrics |
        ([.rollwatch_webhook_deliveries_total[] | select(.labels.result == "delivered") | .value] | add),
        ([.rollwatch_webhook_queue_depth[].value] | add)' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "snapshot: the webhook got it" 1 \
    "$(jq -r '.body | fromjson | select(.type == "metrics") | .type' "$TMP/snap.log" | wc -l)"

# --- 429 with Retry-After: 2 -> the retry waits at least 2 s
start_server s429 --script 429,200 --retry-after 2
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" "$LOG" >/dev/null 2>&1
expect_eq "429: exit" 0 $?
gap=$(jq -s '.[1].t - .[0].t' "$TMP/s429.log")
[ "$(echo "$gap" | awk '{ print ($1 >= 1.9) }')" = 1 ] && pass || fail "429: retried after ${gap}s, Retry-After was 2"
expect_eq "429: all delivered" "$WANT" "$(jq -r 'select(.status == 200)' "$TMP/s429.log" | jq -s length)"

# --- 400: dead letter with the response, error log, exit 1; the others still delivered
start_server s400 --script 400
mkdir -p "$TMP/state400"
"$RW" replay "${R[@]}" --state-dir "$TMP/state400" --webhook "http://127.0.0.1:$PORT/hook" "$LOG" \
    >/dev/null 2>"$TMP/err"
expect_eq "400: exit says something was lost" 1 $?
expect_eq "400: one dead letter" 1 "$(wc -l <"$TMP/state400/deadletter.ndjson")"
jq -e '.status == 400 and (.response | contains("scripted")) and (.body | fromjson | .type == "rollout")
       and (.delivery | test("^[0-9a-f]{32}$"))' "$TMP/state400/deadletter.ndjson" >/dev/null \
    && pass || fail "400: dead letter content: $(head -c 300 "$TMP/state400/deadletter.ndjson")"
grep -q 'dead-letter' "$TMP/err" && pass || fail "400: no error log"
expect_eq "400: not retried, the rest delivered" "$WANT" "$(jq -s length "$TMP/s400.log")"
expect_eq "400: spool empty" "" "$(ls "$TMP"/state400/spool/*/ 2>/dev/null)"
# without --state-dir there is no dead-letter file: the log says so and carries the body
start_server s400b --script 400
(cd "$TMP" && "$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" "$LOG" >/dev/null 2>"$TMP/err")
expect_eq "400, no state dir: exit" 1 $?
grep -q 'no --state-dir there is no dead-letter file, so the dead letter follows on stderr as one JSON line: .*status=400' \
    "$TMP/err" && pass || fail "400, no state dir: $(head -c 400 "$TMP/err")"
grep '^{' "$TMP/err" | jq -e -s 'length == 1 and (.[0].status == 400) and (.[0].body | fromjson | .type == "rollout")' \
    >/dev/null && pass || fail "400, no state dir: the dead letter is not on stderr whole: $(grep '^{' "$TMP/err" | head -c 300)"
expect_eq "400, no state dir: no file written" "" "$(ls "$TMP"/deadletter.ndjson 2>/dev/null)"

# --- a slow server (1.5 s a reply) does not slow ingest: records all printed before delivery ends
start_server slow --delay 1.5
start=$(date +%s%N)
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" --drain-timeout 1 "$LOG" \
    >"$TMP/slow.out" 2>/dev/null
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "slow: exit 1 (drain timeout, memory spool lost)" 1 $rc
expect_eq "slow: stdout complete anyway" "$WANT" "$(wc -l <"$TMP/slow.out")"
[ "$took" -lt 5000 ] && pass || fail "slow: took ${took} ms with a 1 s drain timeout"

# --- connection refused until the server appears: delivered once it does
mkfifo "$TMP/fifo"
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$RW" run "${R[@]}" --webhook "http://127.0.0.1:$free_port/hook" <"$TMP/fifo" >/dev/null 2>"$TMP/late.err" &
pid=$!
exec 3>"$TMP/fifo"
cat "$LOG" >&3
sleep 1.5
grep -q 'retrying' "$TMP/late.err" && pass || fail "late: no retry while refused"
start_server late --port "$free_port"
count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
for _ in $(seq 120); do
    [ "$(count_lines "$TMP/late.log")" -ge "$WANT" ] && break
    sleep 0.25
done
expect_eq "late: all delivered once the server is up" "$WANT" "$(count_lines "$TMP/late.log")"
exec 3>&-
wait $pid
expect_eq "late: exit" 0 $?

# --- HMAC signature: t=<unix>,v1=hex(HMAC-SHA256(secret, t "." body)), checked independently
printf 'sup3r-secret\n' >"$TMP/secret"
start_server sig
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" --webhook-secret-file "$TMP/secret" \
    "$LOG" >/dev/null 2>"$TMP/err"
python3 - "$TMP/sig.log" <<'PY' && pass || fail "signature check failed"
import hmac, hashlib, json, sys, time
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    sig = r["headers"]["X-Rollwatch-Signature"]
    parts = dict(p.split("=", 1) for p in sig.split(","))
    mac = hmac.new(b"sup3r-secret", (parts["t"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, parts["v1"]), sig
    assert abs(int(parts["t"]) - time.time()) < 120
    n += 1
assert n > 5
PY
grep -q 'sup3r' "$TMP/err" && fail "the secret appears in the log" || pass
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" --webhook-secret-file "$TMP/nope" \
    "$LOG" >/dev/null 2>&1
expect_eq "missing secret file" 2 $?
# a secret longer than the 4 KiB read is refused, not cut (even where byte 4096 is a newline)
python3 -c 'import sys; sys.stdout.write("a" * 4095 + "\n" + "b" * 900)' >"$TMP/long.secret"
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" --webhook-secret-file "$TMP/long.secret" \
    "$LOG" >/dev/null 2>&1
expect_eq "secret file over 4 KiB" 2 $?
# webhook options without a webhook do nothing, and say so
"$RW" replay "${R[@]}" --webhook-format slack "$LOG" >/dev/null 2>"$TMP/nohook.err"
expect_eq "--webhook-format alone: exit" 0 $?
grep -q 'warn core: --webhook-format only matters with --webhook' "$TMP/nohook.err" && pass \
    || fail "--webhook-format alone: $(cat "$TMP/nohook.err")"
# a spool directory that cannot be made is the system's refusal: exit 1; a URL that is not
# http(s) is the user's: exit 2
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$PORT/hook" --state-dir /proc/no/such \
    "$LOG" >/dev/null 2>"$TMP/spool.err"
expect_eq "spool directory cannot be made" 1 $?
grep -q 'cannot create spool directory' "$TMP/spool.err" && pass || fail "no reason: $(cat "$TMP/spool.err")"
"$RW" replay "${R[@]}" --webhook "ftp://127.0.0.1/hook" "$LOG" >/dev/null 2>&1
expect_eq "webhook URL not http(s)" 2 $?

# --- formats: slack (text + blocks with summary, hint, evidence); alertmanager (API v2 array)
start_server slack
start_server am
SLACK=$PORT
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:$(cat "$TMP/slack.port")/s" --webhook-format slack \
    --webhook "http://127.0.0.1:$(cat "$TMP/am.port")/api/v2/alerts" --webhook-format alertmanager \
    "$LOG" >/dev/null 2>&1
expect_eq "formats: exit" 0 $?
jq -e -s 'map(.body | fromjson) | map(select(.text | test("^\\[FIRING\\] critical crash_loop myapp:")))
          | .[0].blocks[0].text.text | contains("hint") or contains("convox logs")' "$TMP/slack.log" \
    >/dev/null && pass || fail "slack: no crash_loop message with its hint"
jq -e -s 'map(.body | fromjson) | map(select((.blocks[1].elements[0].text? // "") | test("^```")))
          | length >= 1' "$TMP/slack.log" >/dev/null && pass || fail "slack: no evidence block"
jq -e -s 'map(.path == "/api/v2/alerts" and (.body | fromjson | type == "array")) | all' \
    "$TMP/am.log" >/dev/null && pass || fail "alertmanager: not arrays posted to /api/v2/alerts"
jq -e -s 'map(.body | fromjson | .[]) | map(select(.labels.alertname == "crash-loop" and
          .labels.app == "myapp" and .labels.service == "web" and .labels.class == "crash_loop" and
          .labels.severity == "critical" and (.annotations.summary | length > 0) and
          (.annotations.hint | length > 0) and (.startsAt | test("Z$")))) | length >= 1' \
    "$TMP/am.log" >/dev/null && pass || fail "alertmanager: crash-loop alert labels"
jq -e -s 'map(.body | fromjson | .[]) | map(select(.labels.alertname == "crash-loop" and .endsAt != null))
          | length >= 1' "$TMP/am.log" >/dev/null && pass || fail "alertmanager: no resolved (endsAt) alert"

# --- kill -9 mid-delivery, restart with the same state dir: every delivery arrives at least once
start_server crash --delay 0.4
mkdir -p "$TMP/state"
"$RW" replay "${R[@]}" --state-dir "$TMP/state" --webhook "http://127.0.0.1:$PORT/hook" \
    --drain-timeout 60 "$LOG" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/crash.log" ] && break; sleep 0.05; done
sleep 0.6
kill -9 $pid
wait $pid 2>/dev/null
before=$(jq -s length "$TMP/crash.log")
[ "$before" -lt "$WANT" ] && pass || fail "crash: everything was delivered before the kill ($before)"
[ -n "$(ls "$TMP"/state/spool/*/ 2>/dev/null)" ] && pass || fail "crash: spool empty after kill -9"
: >"$TMP/empty.log"
"$RW" replay "${R[@]}" --state-dir "$TMP/state" --webhook "http://127.0.0.1:$PORT/hook" \
    --drain-timeout 60 "$TMP/empty.log" >/dev/null 2>"$TMP/err"
expect_eq "crash: restart exit" 0 $?
grep -q 'resending deliveries left by an earlier run' "$TMP/err" && pass || fail "crash: no resend log"
jq -r '.body | fromjson | [.type, .status, (.rule // .release // ""), (.fingerprint // .at)] | @tsv' \
    "$TMP/crash.log" | sort -u >"$TMP/got"
jq -r '[.type, .status, (.rule // .release // ""), (.fingerprint // .at)] | @tsv' "$TMP/stdout.json" \
    | sort -u >"$TMP/want"
expect_eq "crash: every alert and rollout arrived" "" "$(comm -23 "$TMP/want" "$TMP/got")"
expect_eq "crash: spool empty at the end" "" "$(ls "$TMP"/state/spool/*/ 2>/dev/null)"

# --- bad options
"$RW" replay "${R[@]}" --webhook "ftp://x/y" "$LOG" >/dev/null 2>&1
expect_eq "bad URL scheme" 2 $?
"$RW" replay "${R[@]}" --webhook "http://127.0.0.1:1/" --webhook-format teams "$LOG" >/dev/null 2>&1
expect_eq "bad format" 2 $?

finish
