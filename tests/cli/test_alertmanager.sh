#!/usr/bin/env bash
# Integration with a real Prometheus Alertmanager (Debian's prometheus-alertmanager) on
# 127.0.0.1: rollwatch's alerts arrive through API v2 with the right labels, and resolved ones
# are no longer active.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
AM=$(command -v prometheus-alertmanager || command -v alertmanager)
if [ -z "$AM" ]; then
    fail "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
    finish
    exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/am.yml" <<'YML'
route:
  receiver: blackhole
receivers:
  - name: blackhole
YML
"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/data" --web.listen-address="127.0.0.1:$port" \
    --cluster.listen-address= >"$TMP/am.log" 2>&1 &
am_pid=$!
trap 'kill $am_pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && pass || fail "alertmanager did not start: $(tail -5 "$TMP/am.log")"

# a rollout whose rollback failed: rollback-failed and the pod-level alerts stay firing,
# rollout-failed is resolved
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --state-dir "$TMP/state" \
    --webhook "http://127.0.0.1:$port/api/v2/alerts" --webhook-format alertmanager \
    "$SRC/tests/scenarios/rollback-failed.log" >"$TMP/out" 2>"$TMP/err"
expect_eq "replay exit" 0 $?
curl -sf "http://127.0.0.1:$port/api/v2/alerts" >"$TMP/alerts.json"
jq -e 'map(select(.labels.alertname == "rollback-failed" and .labels.app == "myapp" and
              .labels.class == "rollback_failed" and .labels.severity == "critical" and
              (.labels.rollwatch_fingerprint | test("^[0-9a-f]{16}$")) and
              (.annotations.summary | contains("rollback")) and (.annotations.hint | length > 20) and
              .status.state == "active")) | length == 1' "$TMP/alerts.json" >/dev/null \
    && pass || fail "rollback-failed not active in Alertmanager: $(jq -c 'map(.labels)' "$TMP/alerts.json")"
jq -e 'map(select(.labels.alertname == "rollout-failed")) | length == 0' "$TMP/alerts.json" >/dev/null \
    && pass || fail "rollout-failed is resolved but still active in Alertmanager"
# what rollwatch printed as still firing is exactly what Alertmanager shows as active
firing=$(jq -r 'select(.type == "alert") | "\(.fingerprint) \(.status)"' "$TMP/out" |
         awk '{ s[$1] = $2 } END { for (f in s) if (s[f] == "firing") print f }' | sort)
active=$(jq -r '.[].labels.rollwatch_fingerprint' "$TMP/alerts.json" | sort)
expect_eq "active in Alertmanager = firing in rollwatch" "$firing" "$active"
[ -n "$active" ] && pass || fail "nothing active at all"

finish
