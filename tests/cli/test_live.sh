#!/usr/bin/env bash
# Live mode on event time: the heartbeat reports a quiet rollout stuck on time, and a live run
# fed line by line gives exactly the alerts and rollouts of a replay, in the same order.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

# --- heartbeat: two lines, then silence; a 3 s deadline from a test rules file
mkdir -p "$TMP/rules"
cp "$SRC"/rules.d/*.json "$TMP/rules/"
cat >"$TMP/rules/05-settings.json" <<'JSON'
{"settings": {"rollout_stuck_after": "3s", "rollout_quiet_after": "2s"}}
JSON
mkfifo "$TMP/fifo"
"$RW" run --rules "$TMP/rules" --app myapp <"$TMP/fifo" >"$TMP/hb.out" 2>"$TMP/hb.err" &
pid=$!
exec 3>"$TMP/fifo"
now=$(date -u +%s)
ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
echo "$(ts "$now") system/k8s/atom/app Status: Running => Pending" >&3
echo "$(ts "$now") system/k8s/atom/app Status: Pending => Updating" >&3
start_ms=$(($(date +%s%N) / 1000000))
found=""
for _ in $(seq 100); do
    if grep -q '"rule":"rollout-stuck"' "$TMP/hb.out"; then found=1; break; fi
    sleep 0.1
done
took_ms=$(($(date +%s%N) / 1000000 - start_ms))
[ -n "$found" ] && pass || fail "heartbeat: no rollout-stuck alert within 10 s: $(cat "$TMP/hb.out" "$TMP/hb.err")"
# due at 3 s after the start; the heartbeat ticks every second
[ "$took_ms" -lt 6000 ] && pass || fail "heartbeat: stuck reported after ${took_ms} ms, want < 6 s"
jq -e -s 'map(select(.type == "rollout")) | map(.status) == ["started", "stuck"]' "$TMP/hb.out" \
    >/dev/null && pass || fail "heartbeat: rollouts $(jq -c 'select(.type=="rollout") | .status' "$TMP/hb.out")"
# the rollout moves on: the stuck alert is resolved when it reaches its verdict
echo "$(ts "$((now + 1))") system/k8s/atom/app Status: Updating => Running" >&3
for _ in $(seq 50); do
    grep -q '"status":"resolved","rule":"rollout-stuck"' "$TMP/hb.out" && break
    sleep 0.1
done
grep -q '"status":"resolved","rule":"rollout-stuck"' "$TMP/hb.out" && pass \
    || fail "heartbeat: stuck not resolved by Running"
exec 3>&-
wait $pid
expect_eq "heartbeat run exit" 0 $?

# --- live == replay: the same lines, trickled through a pipe, give the same output
for f in deploy-rollback deploy-crashloop deploy-success; do
    "$RW" replay --rules "$SRC/rules.d" --app myapp -q "$SRC/examples/$f.log" >"$TMP/replay.out"
    while IFS= read -r line; do
        printf '%s\n' "$line"
        sleep 0.01
    done <"$SRC/examples/$f.log" | "$RW" run --rules "$SRC/rules.d" --app myapp -q >"$TMP/live.out"
    if cmp -s "$TMP/replay.out" "$TMP/live.out"; then
        pass
    else
        fail "$f: live output differs from replay: $(diff "$TMP/replay.out" "$TMP/live.out" | head -5)"
    fi
    [ -s "$TMP/replay.out" ] && pass || fail "$f: replay printed nothing"
done

finish
