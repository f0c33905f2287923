#!/usr/bin/env bash
# The benchmark's input and its mtail twin (bench/): the generated log is seeded and has the
# mix issue #9 asks for (about 60% app output, about 35% Kubernetes events, failures of every
# class, some garbage), and bench/classify.mtail and bench/classify-syslog-ng.conf count every
# class on it, the same counts.
# Usage: test_bench_gen.sh ROLLWATCH SRCDIR
RW=$1
SRC=$2
. "$SRC/tests/cli/lib.sh"

bash "$SRC/bench/gen-logs.sh" 20000 7 >"$TMP/a.log"
bash "$SRC/bench/gen-logs.sh" 20000 7 >"$TMP/b.log"
bash "$SRC/bench/gen-logs.sh" 20000 8 >"$TMP/c.log"
expect_eq "lines generated" 20000 "$(wc -l <"$TMP/a.log" | tr -d ' ')"
expect_eq "the same seed gives the same log" "$(md5sum <"$TMP/a.log")" "$(md5sum <"$TMP/b.log")"
if cmp -s "$TMP/a.log" "$TMP/c.log"; then
    fail "another seed gave the same log"
else
    pass
fi

"$RW" replay -q --rules "$SRC/rules.d" --records --output json "$TMP/a.log" >"$TMP/out.json"
expect_valid_ndjson "$TMP/out.json"
jq -r 'select(.type == "record") | .kind' "$TMP/out.json" | sort | uniq -c >"$TMP/kinds"
share() { # share KIND: per cent of the records of that kind
    awk -v k="$1" '$2 == k { n = $1 } END { printf "%d", n * 100 / 20000 }' "$TMP/kinds"
}
app=$(share app)
k8s=$(($(share k8s) + $(share atom)))
if [ "$app" -ge 55 ] && [ "$app" -le 65 ]; then pass; else fail "app output is $app% of the lines"; fi
if [ "$k8s" -ge 30 ] && [ "$k8s" -le 40 ]; then pass; else fail "Kubernetes events are $k8s%"; fi
if [ "$(share unknown)" -ge 1 ]; then pass; else fail "no malformed lines: $(cat "$TMP/kinds")"; fi

# every pod-level failure class of DESIGN §3, from the records the rules classified
jq -r 'select(.type == "record" and .class != null) | .class' "$TMP/out.json" | sort -u >"$TMP/classes"
failures=$(wc -l <"$TMP/classes" | tr -d ' ')
pct=$(awk -v n="$(jq -r 'select(.type == "record" and .class != null) | .class' "$TMP/out.json" | wc -l)" \
    'BEGIN { printf "%d", n * 100 / 20000 }')
for c in crash_loop oom image_pull invalid_image health_check scheduling config_missing \
    config_invalid container_start volume_mount eviction sandbox_network admission_rejected \
    node_failure; do
    if grep -qx "$c" "$TMP/classes"; then pass; else fail "no line of class $c"; fi
done
if [ "$pct" -ge 2 ] && [ "$pct" -le 8 ]; then pass; else fail "failures are $pct% of the lines"; fi
for s in started succeeded failed rolled_back; do
    n=$(jq -r --arg s "$s" 'select(.type == "rollout" and .status == $s) | .status' "$TMP/out.json" | wc -l)
    if [ "$n" -gt 0 ]; then pass; else fail "no rollout $s"; fi
done

# the mtail program compiles and counts every class the rules found ($failures of them)
if command -v mtail >/dev/null; then
    mkdir -p "$TMP/progs"
    cp "$SRC/bench/classify.mtail" "$TMP/progs/"
    if mtail --one_shot --progs "$TMP/progs" --logs "$TMP/a.log" --logtostderr \
        >"$TMP/mtail.json" 2>"$TMP/mtail.err"; then
        jq -r '.failures_total[0].LabelValues[] | select(.Value.Value > 0) | .Labels[0]' \
            "$TMP/mtail.json" | sort -u >"$TMP/mtail.classes"
        expect_eq "classes mtail counts" "$(cat "$TMP/classes")" "$(cat "$TMP/mtail.classes")"
    else
        fail "mtail failed: $(tail -n 3 "$TMP/mtail.err")"
    fi
else
    echo "mtail not installed: its program is not checked"
fi

# the syslog-ng configuration loads, stops at the end of its input, counts every class the
# rules found, and counts each line kind, class and event exactly as the mtail program does
if command -v syslog-ng >/dev/null; then
    if cat "$TMP/a.log" | SNG_OUT="$TMP/sng" timeout 60 syslog-ng -F --no-caps \
        -f "$SRC/bench/classify-syslog-ng.conf" -R "$TMP/sng.persist" -p "$TMP/sng.pid" \
        -c "$TMP/sng.ctl" >"$TMP/sng.err" 2>&1; then
        for f in "$TMP"/sng/*; do
            n=$(wc -l <"$f" | tr -d ' ')
            printf '%s %s\n' "$(basename "$f" | cut -d. -f2)" "$n"
        done | awk '{ c[$1] += $2 } END { for (k in c) print k, c[k] }' | sort >"$TMP/sng.counts"
        ls "$TMP/sng" | grep '^failures\.' | cut -d. -f2 | sort -u >"$TMP/sng.classes"
        expect_eq "classes syslog-ng counts" "$(cat "$TMP/classes")" "$(cat "$TMP/sng.classes")"
        if [ -s "$TMP/mtail.json" ]; then
            jq -r '.[] | .[] | .LabelValues[]? | select(.Value.Value > 0) | "\(.Labels[0]) \(.Value.Value)"' \
                "$TMP/mtail.json" | sort >"$TMP/mtail.counts"
            expect_eq "syslog-ng's counts equal mtail's" "$(cat "$TMP/mtail.counts")" \
                "$(cat "$TMP/sng.counts")"
        fi
    else
        fail "syslog-ng failed: $(tail -n 3 "$TMP/sng.err")"
    fi
else
    echo "syslog-ng not installed: its configuration is not checked"
fi
finish
