#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a figure that does not move
# with the machine's load (see BENCHMARKS.md, "Instructions per request").
#
#   benches/callgrind.sh [SCENARIO…]     # default: ceiling get filter create
#
# Each scenario runs twice under callgrind (`idp-sync-bench --callgrind SCENARIO
# --requests N`, see benches/idp-sync-bench/callgrind.rs), with N = $SMALL and $LARGE;
# (total(LARGE) − total(SMALL)) / (LARGE − SMALL) is the cost of one request: client,
# server and SQLite threads together, set-up cancelled out. The larger run's profile is
# kept under target/callgrind/ for `callgrind_annotate --inclusive=yes`.
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL=${SMALL:-200}
LARGE=${LARGE:-1200}
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then scenarios=(ceiling get filter create); fi

# BIN=path/to/idp_sync_bench-… measures an existing build instead of building.
bin=${BIN:-}
[ -n "$bin" ] || bin=$(cargo bench --bench idp-sync-bench --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "idp-sync-bench":
        print(m["executable"])')
out=target/callgrind
mkdir -p "$out"

total() { # the instruction total of a callgrind output file
  awk '/^(totals|summary):/ {print $2; exit}' "$1"
}

count() { # scenario n -> total instructions
  local file="$out/$1.$2.out"
  valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" --callgrind "$1" --requests "$2" \
    >"$out/$1.$2.log" 2>&1 || { cat "$out/$1.$2.log" >&2; exit 1; }
  total "$file"
}

printf '%-8s %14s\n' scenario 'instr/request'
declare -A per
for s in "${scenarios[@]}"; do
  small=$(count "$s" "$SMALL")
  large=$(count "$s" "$LARGE")
  per[$s]=$(( (large - small) / (LARGE - SMALL) ))
  if [ -n "${per[ceiling]:-}" ] && [ "$s" != ceiling ]; then
    ratio=$(python3 -c "print(f'{100*${per[ceiling]}/${per[$s]}:.1f}% of the ceiling')")
  else
    ratio=""
  fi
  printf '%-8s %14s  %s\n' "$s" "${per[$s]}" "$ratio"
done
