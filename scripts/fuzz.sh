#!/usr/bin/env bash
# Runs every Go fuzz target in the repository.
#
#   scripts/fuzz.sh --budget 240     total budget in seconds, split evenly
#                                    (CI: under 5 minutes for all targets;
#                                    below 1 s each, a rotating subset runs
#                                    at 1 s each)
#   scripts/fuzz.sh --per 10m        a long campaign: this long per target
#   scripts/fuzz.sh --per 30s FuzzParseCode   only the named targets
#
# A crasher is written by go test to testdata/fuzz/<Target>/ of its
# package: commit it, it then runs as a seed in every go test.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=""; per=""
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --per) per="$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "usage: scripts/fuzz.sh [--budget SECONDS | --per DURATION] [Target...]" >&2; exit 2 ;;
    *) break ;;
  esac
done
only=("$@")

# "dir target" lines for every func FuzzXxx(f *testing.F) in *_test.go.
targets=()
while IFS= read -r line; do
  file=${line%%:*}; name=$(sed -E 's/.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"${line#*:}")
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then continue; fi
  targets+=("$(dirname "$file") $name")
done < <(git ls-files '*_test.go' | xargs -r grep -H -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' | sort)

n=${#targets[@]}
if [ "$n" -eq 0 ]; then echo "no fuzz targets"; exit 0; fi
if [ -z "$per" ]; then
  budget=${budget:-240}
  secs=$(( budget / n ))
  if [ "$secs" -lt 1 ]; then
    # Rotate: run $budget targets at 1 s each, starting at an offset that
    # changes every day.
    secs=1
    off=$(( $(date +%j) * budget % n ))
    rotated=()
    for i in $(seq 0 $(( budget - 1 ))); do rotated+=("${targets[$(( (off + i) % n ))]}"); done
    targets=("${rotated[@]}")
  fi
  per="${secs}s"
fi
echo "fuzzing ${#targets[@]} targets, $per each"
fail=0
for t in "${targets[@]}"; do
  dir=${t% *}; name=${t#* }
  mod=.; pkg="./$dir"
  if [[ "$dir" == refserver/* ]]; then mod=refserver; pkg="./${dir#refserver/}"; fi
  echo "-- $dir $name"
  out=$(mktemp)
  if (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$per" -fuzzminimizetime 5s "$pkg") >"$out" 2>&1; then
    tail -3 "$out"
  else
    tail -40 "$out"
    echo "FAIL: $dir $name (the failing input is in $dir/testdata/fuzz/$name/: commit it as a seed)"; fail=1
  fi
  rm -f "$out"
done
exit $fail
