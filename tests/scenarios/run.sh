#!/usr/bin/env bash
# End-to-end rollout scenarios: replay each scenario's log and compare what rollwatch reports
# (one line per rollout or alert object) with NAME.expected.
#
# Usage: run.sh [--update] ROLLWATCH_BINARY REPO_ROOT [NAME...]
#
# A scenario NAME is made of files in this directory:
#   NAME.log       the log to replay (as `--app myapp NAME.log`)
#   NAME.args      optional: the replay arguments instead of `--app myapp NAME.log`, one argument
#                  per line (blank lines and lines starting with # are skipped); paths are relative
#                  to this directory, e.g. `--input` then `app1=NAME-a.log`
#   NAME.expected  the projection of the output, one line per object:
#                    rollout APP STATUS RELEASE            (RELEASE "-" when unknown)
#                    alert STATUS RULE APP SERVICE         (APP/SERVICE "-" when absent)
#   NAME.assert    optional: jq expressions over the whole output (slurped into one array), one per
#                  line; each must print `true` (checks the projection cannot see, e.g. an `at`)
#
# Every scenario runs `ROLLWATCH replay --rules REPO_ROOT/rules.d --output json -q ARGS` from this
# directory. Exit status: 0 when every scenario passes, 1 when one fails, 2 on usage errors.
#
# --update rewrites NAME.expected from what the program prints now (NAME.assert is never
# touched). Review every changed file by hand: an expectation is what a careful operator wants
# to see, not whatever the program happens to print.

set -u

update=0
positional=()
for arg in "$@"; do
    case "$arg" in
    --update) update=1 ;;
    -h | --help)
        sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) positional+=("$arg") ;;
    esac
done
if [ "${#positional[@]}" -lt 2 ]; then
    echo "usage: $0 [--update] ROLLWATCH_BINARY REPO_ROOT [NAME...]" >&2
    exit 2
fi
bin=${positional[0]}
root=${positional[1]}
only=(${positional[2]+"${positional[@]:2}"})

case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
case "$root" in /*) ;; *) root="$PWD/$root" ;; esac
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable" >&2
    exit 2
fi
if [ ! -d "$root/rules.d" ]; then
    echo "$0: $root/rules.d is not a directory" >&2
    exit 2
fi
if ! command -v jq >/dev/null 2>&1; then
    echo "$0: jq is required" >&2
    exit 2
fi

# The projection: one line per rollout or alert object, everything else (records, metrics) dropped.
projection='if .type=="rollout" then "rollout \(.app) \(.status) \(.release // "-")" elif .type=="alert" then "alert \(.status) \(.rule) \(.app // "-") \(.service // "-")" else empty end'

# A hung replay must not hang the suite.
timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
    timeout_cmd=(timeout 60)
fi

cd "$here" || exit 2

# Reads NAME.args into the array `args`.
read_args() {
    args=()
    local line
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case "$line" in '' | '#'*) continue ;; esac
        args+=("$line")
    done <"$1"
}

# Scenarios: every NAME.expected, NAME.args, and NAME.log that no .args file names as an input.
# (Plain arrays and a newline-separated list, so that bash 3.2 runs this too.)
nl=$'\n'
referenced=$nl
for a in *.args; do
    [ -e "$a" ] || continue
    read_args "$a"
    for x in ${args[@]+"${args[@]}"}; do
        referenced="$referenced${x#*=}$nl"
    done
done
listed=$nl
for f in *.expected *.args *.log; do
    [ -e "$f" ] || continue
    case "$f" in *.log) case "$referenced" in *"$nl$f$nl"*) continue ;; esac ;; esac
    n=${f%.*}
    case "$listed" in *"$nl$n$nl"*) ;; *) listed="$listed$n$nl" ;; esac
done
names=()
if [ "${#only[@]}" -gt 0 ]; then
    listed=$(printf '%s\n' "${only[@]}")
fi
while IFS= read -r n; do
    [ -n "$n" ] && names+=("$n")
done < <(printf '%s' "$listed" | sort -u)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
skip=0
failed=()
for n in "${names[@]}"; do
    if [ -f "$n.pending" ] && [ "$update" -eq 0 ]; then
        # a scenario for a feature not built yet: says why, is not counted as passed
        echo "skip $n: $(head -n 1 "$n.pending")"
        skip=$((skip + 1))
        continue
    fi
    if [ -f "$n.args" ]; then
        read_args "$n.args"
    elif [ -f "$n.log" ]; then
        args=(--app myapp "$n.log")
    else
        echo "FAIL $n: neither $n.log nor $n.args"
        fail=$((fail + 1))
        failed+=("$n")
        continue
    fi

    out="$tmp/$n.out"
    err="$tmp/$n.err"
    actual="$tmp/$n.actual"
    ${timeout_cmd[@]+"${timeout_cmd[@]}"} "$bin" replay --rules "$root/rules.d" --output json -q ${args[@]+"${args[@]}"} >"$out" 2>"$err"
    rc=$?
    problems=()
    if [ "$rc" -ne 0 ]; then
        problems+=("rollwatch exited with status $rc")
    fi
    if ! jq -r "$projection" <"$out" >"$actual" 2>"$tmp/$n.jqerr"; then
        problems+=("the output is not NDJSON: $(head -c 300 "$tmp/$n.jqerr")")
    fi

    if [ "$update" -eq 1 ]; then
        if [ "${#problems[@]}" -gt 0 ]; then
            echo "FAIL $n: ${problems[*]}"
            sed 's/^/    stderr: /' "$err" | head -20
            fail=$((fail + 1))
            failed+=("$n")
            continue
        fi
        if [ -f "$n.expected" ] && cmp -s "$actual" "$n.expected"; then
            echo "same $n.expected"
        else
            cp "$actual" "$n.expected"
            echo "WROTE $n.expected (review it by hand)"
        fi
        pass=$((pass + 1))
        continue
    fi

    if [ ! -f "$n.expected" ]; then
        problems+=("no $n.expected (run with --update, then review it)")
    elif ! cmp -s "$n.expected" "$actual"; then
        problems+=("output differs from $n.expected")
    fi
    if [ -f "$n.assert" ]; then
        while IFS= read -r expr || [ -n "$expr" ]; do
            expr=${expr%$'\r'}
            case "$expr" in '' | '#'*) continue ;; esac
            got=$(jq -s "$expr" <"$out" 2>&1)
            if [ "$got" != "true" ]; then
                problems+=("assertion failed: $expr (got: $(printf '%s' "$got" | head -c 300 | tr '\n' ' '))")
            fi
        done <"$n.assert"
    fi

    if [ "${#problems[@]}" -eq 0 ]; then
        echo "ok   $n"
        pass=$((pass + 1))
    else
        echo "FAIL $n"
        for p in "${problems[@]}"; do
            echo "    $p"
        done
        if [ -f "$n.expected" ] && ! cmp -s "$n.expected" "$actual"; then
            diff -u -L "$n.expected" -L "$n (actual)" "$n.expected" "$actual" | sed 's/^/    /'
        fi
        if [ -s "$err" ]; then
            sed 's/^/    stderr: /' "$err" | head -20
        fi
        echo "    command: (cd $here && $bin replay --rules $root/rules.d --output json -q ${args[*]-})"
        fail=$((fail + 1))
        failed+=("$n")
    fi
done

echo "$pass passed, $fail failed, $skip skipped"
if [ "$fail" -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
exit 0
