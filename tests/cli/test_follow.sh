#!/usr/bin/env bash
# Following files like tail -F, with real files rotated by the test while rollwatch runs:
# rename, copytruncate, delete and re-create, globs, a busy file next to a quiet one, and resume
# after SIGTERM and kill -9 with the same state dir. Every numbered line must be seen once.
RW=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
R=(--rules "$SRC/rules.d" --app myapp -q --records --output json)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

seen() { # seen OUT...: the numbered lines in rollwatch's records, one per line
    cat "$@" | grep -o '"message":"seq [0-9]*' | awk '{ print $2 }'
}
wait_count() { # wait_count N OUT...: until N numbered lines came out (20 s at most)
    local n=$1
    shift
    for _ in $(seq 400); do
        [ "$(seen "$@" | wc -l)" -ge "$n" ] && return 0
        sleep 0.05
    done
    return 1
}
wait_open() { # wait_open PID FILE: until the process has FILE open (20 s at most)
    # A file that exists at start is followed from its end: lines written before rollwatch
    # opened it are not for it to see. A fixed sleep lost that race under loaded sanitizer runs.
    for _ in $(seq 400); do
        ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- "$2" && return 0
        sleep 0.05
    done
    return 1
}
check_once() { # check_once WHAT N OUT...: lines 1..N each exactly once
    local what=$1 n=$2
    shift 2
    seen "$@" | sort >"$TMP/seen"
    seq 1 "$n" | sort >"$TMP/want"
    if cmp -s "$TMP/seen" "$TMP/want"; then
        pass
    else
        comm -23 "$TMP/want" "$TMP/seen" | sort -n | head -3 >&2; comm -23 "$TMP/want" "$TMP/seen" | sort -n | tail -2 >&2
        fail "$what: $(comm -23 "$TMP/want" "$TMP/seen" | wc -l) missing, $(uniq -d "$TMP/seen" | wc -l) twice, of $n"
    fi
}

# --- 11,000 lines through rename, copytruncate, delete + re-create and a swap
D="$TMP/rot"
mkdir -p "$D"
: >"$D/app.log" # empty: its end is its start, however late rollwatch opens it
"$RW" run "${R[@]}" "$D/app.log" >"$TMP/rot.out" 2>"$TMP/rot.err" &
PIDS+=($!)
wait_open $! "$D/app.log" || fail "rotation: app.log never opened"
n=0
write() { # write COUNT: the next COUNT numbered lines
    local end=$((n + $1))
    while [ $n -lt $end ]; do n=$((n + 1)); echo "seq $n payload"; done >>"$D/app.log"
}
write 2500
mv "$D/app.log" "$D/app.log.1"      # rename rotation, with a late line in the old file
write 0
n=$((n + 1)); echo "seq $n late writer" >>"$D/app.log.1"
write 2499
wait_count "$n" "$TMP/rot.out" || true
cp "$D/app.log" "$D/app.log.2"      # copytruncate, once everything was read
: >"$D/app.log"
write 2500
wait_count "$n" "$TMP/rot.out" || true
rm "$D/app.log"                     # delete and re-create
sleep 0.4
write 2500
wait_count "$n" "$TMP/rot.out" || true
# the new file is already in place when the rotation is noticed (renames back to back), then
# more lines follow: the new file must not look rewritten and be read twice
D_real=$D
D="$TMP/rot-next"
mkdir -p "$D"
write 500
ln "$D_real/app.log" "$D_real/app.log.3" # keep the old one, then replace the path atomically:
mv "$D/app.log" "$D_real/app.log"         # the path never goes missing, its inode changes
D=$D_real
sleep 0.5
write 500
wait_count "$n" "$TMP/rot.out"
expect_eq "rotation: lines written" 11000 "$n"
check_once "rotation: 11,000 lines through rename, copytruncate, delete, swap" 11000 "$TMP/rot.out"
grep -q 'file truncated' "$TMP/rot.err" && pass || fail "truncation not logged"
grep -q 'file rotated\|removed or renamed' "$TMP/rot.err" && pass || fail "rotation not logged"
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}"
expect_eq "rotation: SIGTERM exit" 0 $?

# --- a glob picks up files that appear later (from their start); a busy file does not
#     starve a quiet one
G="$TMP/glob"
mkdir -p "$G"
echo "seq 0 existing, before start" >"$G/a.log"
"$RW" run "${R[@]}" "$G/*.log" >"$TMP/glob.out" 2>"$TMP/glob.err" &
gpid=$!
PIDS+=($gpid)
wait_open $gpid "$G/a.log" || fail "glob: a.log never opened"
# a keeps growing (1 MB every 50 ms for 2 s) while b gets its one line
(for _ in $(seq 40); do head -c 1000000 /dev/zero | tr '\0' 'x' | fold -w 199; sleep 0.05; done >>"$G/a.log") &
writer=$!
sleep 0.5
echo "seq 1 in a new file" >"$G/b.log"
wait $writer
wait_count 1 "$TMP/glob.out"
expect_eq "glob: the new file read from its start" "1" "$(seen "$TMP/glob.out" | tr '\n' ' ' | sed 's/ $//')"
sleep 1
kill -TERM $gpid
wait $gpid
b_at=$(grep -n '"message":"seq 1 in a new file' "$TMP/glob.out" | cut -d: -f1)
total=$(wc -l <"$TMP/glob.out")
# b's line must not wait behind the rest of a: well before the end of the output
[ -n "$b_at" ] && [ "$b_at" -lt $((total * 3 / 4)) ] && pass || fail "the quiet file waited for the busy one ($b_at of $total)"

# --- resume: SIGTERM, then kill -9, with the same state dir: exactly once across runs
S="$TMP/resume"
mkdir -p "$S"
: >"$S/app.log"
n=0
D="$S"
"$RW" run "${R[@]}" --state-dir "$S/state" "$S/app.log" >"$TMP/r1.out" 2>/dev/null &
p1=$!
PIDS+=($p1)
wait_open $p1 "$S/app.log" || fail "resume: app.log never opened"
write 300
wait_count 300 "$TMP/r1.out"
kill -TERM $p1
wait $p1
write 300 # while stopped
"$RW" run "${R[@]}" --state-dir "$S/state" "$S/app.log" >"$TMP/r2.out" 2>"$TMP/r2.err" &
p2=$!
PIDS+=($p2)
wait_count 600 "$TMP/r1.out" "$TMP/r2.out"
grep -q 'resuming at the saved offset' "$TMP/r2.err" && pass || fail "no resume log"
write 300
wait_count 900 "$TMP/r1.out" "$TMP/r2.out"
sleep 1 # offsets are saved within 200 ms of a read (slack for loaded sanitizer runs)
kill -9 $p2
wait $p2 2>/dev/null
write 300 # while dead
"$RW" run "${R[@]}" --state-dir "$S/state" "$S/app.log" >"$TMP/r3.out" 2>/dev/null &
p3=$!
PIDS+=($p3)
wait_count 1200 "$TMP/r1.out" "$TMP/r2.out" "$TMP/r3.out"
sleep 0.3
kill -TERM $p3
wait $p3
check_once "resume: 1,200 lines over SIGTERM and kill -9 restarts" 1200 "$TMP/r1.out" "$TMP/r2.out" "$TMP/r3.out"

# a file replaced while stopped (new inode, other bytes): read from the start, with a warning
mv "$S/app.log" "$S/app.log.old"
printf 'seq 1 replaced\nseq 2 replaced\n' >"$S/app.log"
"$RW" run "${R[@]}" --state-dir "$S/state" "$S/app.log" >"$TMP/r4.out" 2>"$TMP/r4.err" &
p4=$!
PIDS+=($p4)
wait_count 2 "$TMP/r4.out"
kill -TERM $p4
wait $p4
expect_eq "replaced file: read from 0" "1 2" "$(seen "$TMP/r4.out" | tr '\n' ' ' | sed 's/ $//')"
grep -q 'does not fit this file' "$TMP/r4.err" && pass || fail "replaced file: no warning"

# --- without a state dir a file that exists is followed from its end (like tail -F), or from
#     its start with --from-start
printf 'seq 1 old\n' >"$TMP/t.log"
"$RW" run "${R[@]}" "$TMP/t.log" >"$TMP/t1.out" 2>/dev/null &
t1=$!
PIDS+=($t1)
wait_open $t1 "$TMP/t.log" || fail "tail -F start: t.log never opened"
printf 'seq 2 new\n' >>"$TMP/t.log"
wait_count 1 "$TMP/t1.out"
kill -TERM $t1
wait $t1
expect_eq "tail -F start" "2" "$(seen "$TMP/t1.out" | tr '\n' ' ' | sed 's/ $//')"
"$RW" run "${R[@]}" --from-start "$TMP/t.log" >"$TMP/t2.out" 2>/dev/null &
t2=$!
PIDS+=($t2)
wait_count 2 "$TMP/t2.out"
kill -TERM $t2
wait $t2
expect_eq "--from-start" "1 2" "$(seen "$TMP/t2.out" | tr '\n' ' ' | sed 's/ $//')"

# --- a file that is not there yet: said once, waited for, read whole when it comes (tail -F);
#     a directory is a usage error that says what to name instead
"$RW" run "${R[@]}" "$TMP/later.log" >"$TMP/l.out" 2>"$TMP/l.err" &
l1=$!
PIDS+=($l1)
for _ in $(seq 400); do grep -q 'waiting for it' "$TMP/l.err" && break; sleep 0.05; done
grep -q "warn ingest: cannot open yet, waiting for it: No such file or directory path=$TMP/later.log" \
    "$TMP/l.err" && pass || fail "missing file: no warning: $(cat "$TMP/l.err")"
printf 'seq 1 late\nseq 2 late\n' >"$TMP/later.log"
wait_count 2 "$TMP/l.out" || fail "missing file: never read once it came"
kill -TERM $l1
wait $l1
expect_eq "missing file, then created" "1 2" "$(seen "$TMP/l.out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "missing file: warned once" 1 "$(grep -c 'waiting for it' "$TMP/l.err")"
mkdir -p "$TMP/logdir"
timeout 10 "$RW" run "${R[@]}" "$TMP/logdir/" >/dev/null 2>"$TMP/d.err"
expect_eq "a directory to follow" 2 $?
grep -q "logdir/ is a directory: name the files to follow .*'$TMP/logdir/\*.log'" "$TMP/d.err" &&
    pass || fail "directory: $(cat "$TMP/d.err")"

finish
