#!/usr/bin/env bash
# /metrics from the outside: exact values after a known input, promtool's verdict, bad and
# oversized requests answered without harm, many scrapers at once, snapshots, and a real
# Prometheus server scraping rollwatch (its API must report the lines fed).
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
R=(--rules "$SRC/rules.d" --app myapp -q)
LOG="$SRC/examples/deploy-crashloop.log"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

P=$(free_port)
mkfifo "$TMP/fifo"
"$RW" run "${R[@]}" --metrics-listen "$P" <"$TMP/fifo" >"$TMP/run.out" 2>"$TMP/run.err" &
PIDS+=($!)
exec 3>"$TMP/fifo"
cat "$LOG" >&3
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$P/healthz" >/dev/null && break; sleep 0.1; done
sleep 0.3
curl -sf "http://127.0.0.1:$P/metrics" >"$TMP/m.txt"
expect_eq "scrape exit" 0 $?

# --- the exposition format is what Prometheus accepts, and the numbers are right
if command -v promtool >/dev/null; then
    promtool check metrics <"$TMP/m.txt" >"$TMP/promtool.out" 2>&1 && pass \
        || fail "promtool check metrics: $(cat "$TMP/promtool.out")"
else
    fail "promtool is not installed (apt-get install prometheus)"
fi
lines=$(awk 'END { print NR }' "$LOG")
expect_eq "lines_total sums to the lines fed" "$lines" \
    "$(awk '/^rollwatch_lines_total\{/ { s += $2 } END { print s }' "$TMP/m.txt")"
expect_eq "unparsed = kind unknown" "$(grep '^rollwatch_lines_total{kind="unknown"}' "$TMP/m.txt" | awk '{print $2}')" \
    "$(grep '^rollwatch_lines_unparsed_total ' "$TMP/m.txt" | awk '{print $2}')"
expect_eq "rolled back once" 1 "$(grep '^rollwatch_rollouts_total{app="myapp",status="rolled_back"}' "$TMP/m.txt" | awk '{print $2}')"
expect_eq "duration histogram count" 1 "$(grep '^rollwatch_rollout_duration_seconds_count{app="myapp",status="rolled_back"}' "$TMP/m.txt" | awk '{print $2}')"
expect_eq "duration in the 1800 s bucket" 1 "$(grep 'rollwatch_rollout_duration_seconds_bucket{app="myapp",status="rolled_back",le="1800"}' "$TMP/m.txt" | awk '{print $2}')"
expect_eq "crash_loop failures counted" 2 "$(grep '^rollwatch_pod_failures_total{app="myapp",service="web",class="crash_loop"}' "$TMP/m.txt" | awk '{print $2}')"
expect_eq "alerts by status" "$(jq -r 'select(.type == "alert" and .status == "firing" and .rule == "crash-loop") | .rule' "$TMP/run.out" | wc -l)" \
    "$(grep '^rollwatch_alerts_total{rule="crash-loop",severity="critical",status="firing"}' "$TMP/m.txt" | awk '{print $2}')"
grep -q '^rollwatch_build_info{version="[0-9.]*"} 1$' "$TMP/m.txt" && pass || fail "build_info"
grep -q 'pod=' "$TMP/m.txt" && fail "a metric has a per-pod label" || pass

# --- HTTP edges: 404, 405, HEAD, bad request, oversized header, a slow client; still serving
expect_eq "404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/nope")"
expect_eq "405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$P/metrics")"
expect_eq "HEAD" 200 "$(curl -s -o /dev/null -I -w '%{http_code}' "http://127.0.0.1:$P/metrics")"
raw() { # raw REQUEST: the status line of the reply to these bytes
    python3 - "$P" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
print(s.recv(200).split(b"\r\n")[0].decode())
PY
}
expect_eq "garbage" "HTTP/1.1 400 Bad Request" "$(raw 'GARBAGE\r\n\r\n')"
expect_eq "not HTTP/1" "HTTP/1.1 400 Bad Request" "$(raw 'GET /metrics SPDY/3\r\n\r\n')"
expect_eq "oversized" "HTTP/1.1 431 Request Header Fields Too Large" \
    "$(raw "GET /metrics HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n")"
start=$(date +%s)
expect_eq "slow client times out" "HTTP/1.1 408 Request Timeout" "$(raw 'GET /metrics HTTP/1.1\r\n')"
[ $(($(date +%s) - start)) -le 7 ] && pass || fail "the timeout took too long"
for i in $(seq 50); do
    curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$P/metrics" &
done >"$TMP/many" 2>&1
wait_for_curls=0
for _ in $(seq 100); do [ "$(wc -l <"$TMP/many")" -ge 50 ] && break; sleep 0.1; done
expect_eq "50 scrapers at once" "50" "$(grep -c '^200$' "$TMP/many")"
expect_eq "still serving" "ok" "$(curl -s "http://127.0.0.1:$P/healthz")"
echo "2026-04-22T10:00:00Z system/k8s/atom/app Status: Running => Pending" >&3
sleep 0.3
expect_eq "counts move" "$((lines + 1))" \
    "$(curl -s "http://127.0.0.1:$P/metrics" | awk '/^rollwatch_lines_total\{/ { s += $2 } END { print s }')"

# --- a real Prometheus scraping rollwatch: its API reports the lines fed
if command -v prometheus >/dev/null; then
    PP=$(free_port)
    cat >"$TMP/prom.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: rollwatch
    static_configs:
      - targets: ["127.0.0.1:$P"]
YML
    prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
        --web.listen-address="127.0.0.1:$PP" >"$TMP/prom.log" 2>&1 3>&- &
    PIDS+=($!)
    got=""
    for _ in $(seq 150); do
        got=$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=sum(rollwatch_lines_total)' \
              | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
        [ "$got" = "$((lines + 1))" ] && break
        sleep 0.2
    done
    expect_eq "Prometheus sees the lines fed" "$((lines + 1))" "$got"
    up=$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=up{job="rollwatch"}' | jq -r '.data.result[0].value[1]')
    expect_eq "target up" 1 "$up"
else
    fail "prometheus is not installed (apt-get install prometheus)"
fi
exec 3>&-
wait "${PIDS[0]}"
expect_eq "run exit" 0 $?

# --- snapshots: --metrics-interval prints {"type":"metrics"} objects, and a last one at the end
"$RW" replay "${R[@]}" --metrics-interval 60 "$LOG" >"$TMP/snap.out"
expect_eq "snapshot at the end of a replay" "$lines" \
    "$(jq -r 'select(.type == "metrics") | .metrics.rollwatch_lines_total | map(.value) | add' "$TMP/snap.out")"
"$RW" replay "${R[@]}" --metrics-listen "nonsense:port" "$LOG" >/dev/null 2>&1
expect_eq "bad --metrics-listen" 2 $?
# a start that failed on a usage error stays a usage error (the undelivered queue of a webhook
# that never started is no runtime failure), and sends or prints no snapshot of a run
"$RW" replay "${R[@]}" --metrics-listen "nonsense:port" --metrics-interval 5 \
    --webhook "http://127.0.0.1:1/hook" --drain-timeout 1 "$LOG" >"$TMP/failed.out" 2>/dev/null
expect_eq "bad --metrics-listen with snapshots and a webhook" 2 $?
expect_eq "no snapshot from a start that failed" 0 "$(wc -c <"$TMP/failed.out" | tr -d ' ')"
# a port already taken is the system's refusal, not a usage error: exit 1, and no summary of a
# run that never started
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); sys.stdout.close(); time.sleep(30)' >"$TMP/taken.port" &
TAKER=$!
for _ in $(seq 50); do [ -s "$TMP/taken.port" ] && break; sleep 0.1; done
"$RW" replay "${R[@]}" --metrics-listen "127.0.0.1:$(cat "$TMP/taken.port")" "$LOG" \
    >"$TMP/taken.out" 2>"$TMP/taken.err"
expect_eq "--metrics-listen on a taken port" 1 $?
kill "$TAKER" 2>/dev/null
grep -q 'address already in use' "$TMP/taken.err" && pass || fail "no reason given: $(cat "$TMP/taken.err")"
grep -q 'lines' "$TMP/taken.err" && fail "a summary of a run that never started: $(cat "$TMP/taken.err")" || pass
"$RW" replay "${R[@]}" --metrics-interval 0 "$LOG" >/dev/null 2>&1
expect_eq "bad --metrics-interval" 2 $?

# --- the shipped Prometheus alerting rules are valid
if command -v promtool >/dev/null; then
    promtool check rules "$SRC/examples/prometheus-alerts.yml" >"$TMP/rules.out" 2>&1 && pass \
        || fail "promtool check rules: $(cat "$TMP/rules.out")"
fi
jq -e '.panels | length >= 4' "$SRC/examples/grafana-dashboard.json" >/dev/null && pass \
    || fail "grafana dashboard is not valid JSON with panels"


# --- --metrics-listen takes a host name, and ":PORT" for all addresses; port 0 logs the port bound
P2=$(free_port)
"$RW" replay --rules "$SRC/rules.d" --metrics-listen "localhost:$P2" "$LOG" >/dev/null 2>"$TMP/lh.err"
expect_eq "--metrics-listen localhost:PORT" 0 $?
grep -q "serving metrics listen=localhost:$P2 address=127.0.0.1 port=$P2" "$TMP/lh.err" && pass \
    || fail "localhost: $(cat "$TMP/lh.err")"
"$RW" replay --rules "$SRC/rules.d" --metrics-listen ":0" "$LOG" >/dev/null 2>"$TMP/any.err"
expect_eq "--metrics-listen :0" 0 $?
grep -Eq 'serving metrics listen=:0 address=(::|0\.0\.0\.0) port=[1-9][0-9]*$' "$TMP/any.err" && pass \
    || fail ":0: $(cat "$TMP/any.err")"
# ":PORT" answers on IPv4 and, where the machine has IPv6, on IPv6 too (port 0: the log names the
# port bound, so no other test can take it between a probe and the bind)
sleep 30 2>/dev/null | "$RW" run --rules "$SRC/rules.d" -q --metrics-listen ":0" >/dev/null 2>"$TMP/dual.err" &
PIDS+=($!)
P3=
for _ in $(seq 200); do
    P3=$(sed -n 's/.*serving metrics listen=:0 address=[^ ]* port=\([0-9]*\)$/\1/p' "$TMP/dual.err")
    [ -n "$P3" ] && break
    sleep 0.1
done
expect_eq ":PORT on 127.0.0.1" ok "$(curl -sf "http://127.0.0.1:$P3/healthz")"
if grep -q "address=:: port=$P3" "$TMP/dual.err"; then
    expect_eq ":PORT on [::1]" ok "$(curl -sfg "http://[::1]:$P3/healthz")"
fi
kill "${PIDS[-1]}" 2>/dev/null
# (2 where a resolver answers that the name does not exist, 1 where none can be asked: CI's)
"$RW" replay --rules "$SRC/rules.d" --metrics-listen "nosuch.invalid:0" "$LOG" >/dev/null 2>"$TMP/nx.err"
rc=$?
[ "$rc" = 1 ] || [ "$rc" = 2 ] && pass || fail "--metrics-listen with a name that does not exist: exit $rc"
grep -q "metrics-listen nosuch.invalid:0: cannot resolve the host: " "$TMP/nx.err" && pass \
    || fail "unknown host: $(cat "$TMP/nx.err")"
finish
