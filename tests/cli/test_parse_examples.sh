#!/usr/bin/env bash
# rollwatch parse on the bundled samples: one valid record per line, no unknown lines, and the
# known facts of each sample (atom verdicts, pods, the transcript) come out as expected.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

for f in "$SRC"/examples/*.log; do
    name=$(basename "$f")
    "$RW" parse --app myapp "$f" >"$TMP/out" 2>"$TMP/err"
    expect_eq "$name: exit" 0 $?
    expect_valid_ndjson "$TMP/out"
    expect_eq "$name: one record per line" "$(awk 'END { print NR }' "$f")" "$(wc -l <"$TMP/out")"
    expect_eq "$name: unknown lines" "" "$(jq -r 'select(.kind == "unknown" and .message != "") | .message' <"$TMP/out")"
    expect_eq "$name: app label" "" "$(jq -r 'select(.app != "myapp") | .message' <"$TMP/out")"
    # transcript lines before the first timestamped line have no event time to inherit
    expect_eq "$name: every line after the first timestamp has one" "" \
        "$(jq -sr 'map(.ts != null) | . as $a | [range(length)] |
           map(select($a[.] == false and ($a[:.] | any))) | .[]' <"$TMP/out")"
done

# every pod-level k8s line names its pod, replica set and service consistently
"$RW" parse "$SRC"/examples/deploy-*.log >"$TMP/all" 2>/dev/null
expect_eq "pods derive rs and service" "" \
    "$(jq -r 'select(.object_kind == "pod" and .replicaset != null) | . as $r |
              select(($r.pod | startswith($r.replicaset + "-") | not) or
                     ($r.replicaset | startswith($r.service + "-") | not)) | .pod' <"$TMP/all")"

# the verdicts are in the atom lines
expect_eq "success ends Running" "Running" \
    "$("$RW" parse "$SRC/examples/deploy-success.log" 2>/dev/null | jq -r 'select(.kind == "atom") | .status_to' | tail -n 1)"
expect_eq "rollback ends Reverted" "Reverted" \
    "$("$RW" parse "$SRC/examples/deploy-rollback.log" 2>/dev/null | jq -r 'select(.kind == "atom") | .status_to' | tail -n 1)"
"$RW" parse "$SRC/examples/deploy-crashloop.log" >"$TMP/cl" 2>/dev/null
expect_eq "transcript: promoting names a release" "1" \
    "$(jq -r 'select(.cli == "promoting") | .release' <"$TMP/cl" | grep -c '^R')"
expect_eq "transcript: ends with ERROR: rollback" "error rollback" \
    "$(jq -r 'select(.kind == "cli") | "\(.cli) \(.message)"' <"$TMP/cl" | tail -n 1)"
"$RW" parse "$SRC/examples/kubectl-service.log" >"$TMP/ks" 2>/dev/null
expect_eq "kubectl: all app records with container" "" \
    "$(jq -r 'select(.kind != "app" or .container == null or .pod == null) | .message' <"$TMP/ks")"

finish
