#!/usr/bin/env bash
# The HTML report rendered for real in headless Chromium: a 50-pod, two-hour failing rollout
# must give one atom lane and a lane per pod, failure markers with their evidence on hover,
# no scripts and no external assets.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser)

# 50 pods over two hours: started, 5 of them crash-looping, then Deadline and a rollback
LC_ALL=C awk 'BEGIN {
    t0 = 1773844251
    ts = "%Y-%m-%dT%H:%M:%SZ"
    print strftime(ts, t0, 1) " system/k8s/atom/app Status: Running => Pending"
    print strftime(ts, t0 + 2, 1) " system/k8s/atom/app Status: Pending => Updating"
    for (i = 0; i < 50; i++) {
        t = t0 + 10 + i * 130
        pod = sprintf("web-7d5c9f8b46-p%04d", i)
        print strftime(ts, t, 1) " system/k8s/web-7d5c9f8b46 Created pod: " pod
        print strftime(ts, t + 1, 1) " system/k8s/" pod " Pulling image \"reg/myapp:web.BABCDEFGHI\""
        print strftime(ts, t + 5, 1) " system/k8s/" pod " Successfully pulled image \"reg/myapp:web.BABCDEFGHI\" in 4s"
        print strftime(ts, t + 6, 1) " system/k8s/" pod " Started container myapp"
        if (i % 10 == 3)
            print strftime(ts, t + 40, 1) " system/k8s/" pod " Back-off restarting failed container myapp in pod " pod "_myns(1)"
    }
    print strftime(ts, t0 + 6600, 1) " system/k8s/atom/app Status: Updating => Deadline"
    print strftime(ts, t0 + 6601, 1) " system/k8s/atom/app Status: Deadline => Rollback"
    print strftime(ts, t0 + 7200, 1) " system/k8s/atom/app Status: Rollback => Reverted"
}' >"$TMP/big-rollout.log"
"$RW" replay --rules "$SRC/rules.d" --app myapp -q --output none --report html \
    --report-out "$TMP/report.html" "$TMP/big-rollout.log"
expect_eq "replay exit" 0 $?
grep -qi '<script' "$TMP/report.html" && fail "the report has scripts" || pass
grep -Eq '(src|href)="(https?:)?//' "$TMP/report.html" && fail "the report loads external assets" || pass

if [ -z "$CHROMIUM" ]; then
    fail "chromium is not installed (apt-get install chromium)"
    finish
    exit 1
fi
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$TMP/chromium")
timeout 60 "$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$TMP/report.html" >"$TMP/dom.html" 2>/dev/null
expect_eq "one atom lane" 1 "$(grep -o 'class="lane atom"' "$TMP/dom.html" | wc -l)"
expect_eq "a lane per pod" 50 "$(grep -o 'class="lane pod"' "$TMP/dom.html" | wc -l)"
expect_eq "failure markers" 5 "$(grep -o 'class="marker failure"' "$TMP/dom.html" | wc -l)"
grep -q '<title>+[0-9hms]* crash_loop: 2026-03-18T[0-9:]*Z system/k8s/web-7d5c9f8b46-p0003 Back-off' \
    "$TMP/dom.html" && pass || fail "no evidence line on a marker"
grep -q 'rolled_back' "$TMP/dom.html" && pass || fail "verdict missing"
grep -q '+2h00m00s' "$TMP/dom.html" && pass || fail "no two-hour axis"
timeout 60 "$CHROMIUM" "${FLAGS[@]}" --window-size=1200,1300 --screenshot="$TMP/report.png" \
    "file://$TMP/report.html" >/dev/null 2>&1
[ "$(stat -c %s "$TMP/report.png" 2>/dev/null || echo 0)" -gt 20000 ] && pass || fail "no screenshot"
[ -n "${KEEP_REPORT:-}" ] && cp "$TMP/report.html" "$TMP/report.png" "$KEEP_REPORT"/

finish
