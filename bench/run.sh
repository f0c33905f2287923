#!/usr/bin/env bash
# Benchmarks, all measured in one run on the same generated file (see the README's Performance):
# throughput of rollwatch replay (default rules, with and without --records), rollwatch parse,
# mtail and syslog-ng with equivalent programs (bench/classify.mtail,
# bench/classify-syslog-ng.conf), grep -c and wc -l as the physical limit; medians of RUNS runs
# taken in turns; peak RSS; RSS at 1M vs 10M lines and the ratio to grep at 10M; live alert
# latency.
# usage: bench/run.sh [LINES] [RUNS]      (from the repo root, after make build)
set -euo pipefail
LINES=${1:-1000000}
RUNS=${2:-5}
RW=${RW:-build/rollwatch}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
bench/gen-logs.sh "$LINES" 42 >"$W/logs.txt"
MB=$(du -m "$W/logs.txt" | cut -f1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "input: $LINES lines, $MB MB (bench/gen-logs.sh $LINES 42)"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The commands take turns, RUNS rounds of all of them, so that each samples the same moments of
# a shared machine (whose speed changes over seconds): a ratio compares like with like.
names=("wc -l" "grep -c system/k8s" "rollwatch parse" "rollwatch replay" "rollwatch replay --records")
# grep -c writes to a file: it stops at the first match when its output is /dev/null
outs=(/dev/null "$W/out" /dev/null /dev/null /dev/null)
cmds=("wc -l $W/logs.txt"
      "grep -c system/k8s $W/logs.txt"
      "$RW parse -q $W/logs.txt"
      "$RW replay -q --rules rules.d --output json $W/logs.txt"
      "$RW replay -q --rules rules.d --records $W/logs.txt")
if command -v mtail >/dev/null; then
    mkdir -p "$W/progs"
    cp bench/classify.mtail "$W/progs/"
    names+=("mtail --one_shot")
    outs+=(/dev/null)
    cmds+=("mtail --one_shot --progs $W/progs --logs $W/logs.txt --logtostderr")
else
    echo "(mtail not installed: apt-get install mtail)"
fi
# syslog-ng reads its stdin() source from a pipe (it cannot poll a regular file there) and stops
# at its end; its counts go to files, a new directory each run
if command -v syslog-ng >/dev/null; then
    cat >"$W/sng.sh" <<EOF
rm -rf "$W/sng" && mkdir -p "$W/sng"
cat "$W/logs.txt" | SNG_OUT="$W/sng/out" syslog-ng -F --no-caps -f "$PWD/bench/classify-syslog-ng.conf" \\
    -R "$W/sng/persist" -p "$W/sng/pid" -c "$W/sng/ctl"
EOF
    names+=("syslog-ng")
    outs+=(/dev/null)
    cmds+=("bash $W/sng.sh")
else
    echo "(syslog-ng not installed: apt-get install syslog-ng-core)"
fi
# one timed run of command i: "seconds peak-RSS-KiB" appended to $W/times.i
time_one() {
    local t0 t1
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # the command line is split on purpose
    /usr/bin/time -f '%M' -o "$W/t" ${cmds[$1]} >"${outs[$1]}" 2>&1 || true
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000000)) $(cat "$W/t")" | awk '{ printf "%.3f %s\n", $1 / 1000, $2 }' \
        >>"$W/times.$1"
}
for _ in $(seq "$RUNS"); do
    for i in "${!cmds[@]}"; do
        time_one "$i"
    done
done
: >"$W/results"
for i in "${!cmds[@]}"; do
    secs=$(awk '{ print $1 }' "$W/times.$i" | median)
    rss=$(awk '{ print $2 }' "$W/times.$i" | tail -n 1)
    printf '%s %s %s\n' "${names[$i]}" "$secs" "$rss" >>"$W/results"
done
grep_s=$(awk '$0 ~ /^grep/ { print $(NF-1) }' "$W/results")
printf '\n%-28s %9s %12s %8s %10s %10s\n' command seconds "lines/s" "MB/s" "vs grep" "RSS MiB"
while read -r line; do
    name=${line% * *}
    rest=${line##"$name" }
    secs=${rest% *}
    rss=${rest#* }
    awk -v n="$name" -v s="$secs" -v r="$rss" -v l="$LINES" -v mb="$MB" -v g="$grep_s" 'BEGIN {
        s = (s > 0 ? s : 0.001)
        printf "%-28s %9.3f %12.0f %8.1f %9.1fx %10.1f\n", n, s, l / s, mb / s, s / g, r / 1024 }'
done <"$W/results"
# "rollwatch replay is Nx TOOL's throughput", from the results line whose name starts with TOOL
throughput_vs() {
    awk -v tool="$1" '/^rollwatch replay [0-9]/ { r = $(NF-1) } index($0, tool) == 1 { m = $(NF-1) }
         END { if (r > 0 && m > 0) printf "rollwatch replay is %.1fx %s'"'"'s throughput\n", m / r, tool }' \
        "$W/results"
}
echo
for tool in mtail syslog-ng; do
    command -v "$tool" >/dev/null && throughput_vs "$tool"
done

# On a shared VM one vCPU can be much slower than the other for a while (README, Performance):
# replay always has a thread on it, grep mostly not. The same single-threaded parse pinned to
# each vCPU says whether this run fell in such a phase.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    printf '\nrollwatch parse pinned to each vCPU (median of 3):'
    for cpu in $(seq 0 $(($(nproc) - 1))); do
        for _ in 1 2 3; do
            t0=$(date +%s%N)
            taskset -c "$cpu" "$RW" parse -q "$W/logs.txt" >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            echo $(((t1 - t0) / 1000000))
        done | median | awk -v c="$cpu" '{ printf "%s cpu%s %.3f s", (c > 0 ? "," : ""), c, $1 / 1000 }'
    done
    echo
fi

# memory stays bounded: 10x the lines, the same peak RSS (within a few MiB)
if [ "${BIG:-1}" = 1 ]; then
    bench/gen-logs.sh $((LINES * 10)) 43 >"$W/big.txt"
    /usr/bin/time -f '%M' -o "$W/t1" "$RW" replay -q --rules rules.d "$W/logs.txt" >/dev/null
    /usr/bin/time -f '%M' -o "$W/t10" "$RW" replay -q --rules rules.d "$W/big.txt" >/dev/null
    echo "peak RSS: $((LINES)) lines $(($(cat "$W/t1") / 1024)) MiB, $((LINES * 10)) lines $(($(cat "$W/t10") / 1024)) MiB"
    # At 10x the lines the start-up costs (about 14 ms for grep, 25 ms for replay here) weigh
    # a tenth as much: the ratio to grep at that size is the one a long replay sees.
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        grep -c system/k8s "$W/big.txt" >"$W/out"
        t1=$(date +%s%N)
        "$RW" replay -q --rules rules.d --output json "$W/big.txt" >/dev/null
        t2=$(date +%s%N)
        echo "$(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000))"
    done >"$W/big.times"
    g=$(awk '{ print $1 }' "$W/big.times" | median)
    r=$(awk '{ print $2 }' "$W/big.times" | median)
    awk -v g="$g" -v r="$r" -v l=$((LINES * 10)) 'BEGIN {
        printf "at %d lines (median of 3): grep -c %.3f s, rollwatch replay %.3f s, %.1fx grep\n",
            l, g / 1000, r / 1000, r / (g > 0 ? g : 1) }'
    rm -f "$W/big.txt"
fi
python3 bench/latency.py "$RW" rules.d 2000
