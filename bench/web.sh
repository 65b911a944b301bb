#!/usr/bin/env bash
# Runs BenchmarkPages (bench/web_test.go): every page of the web interface,
# read from a real `cointrail demo` process built from this tree, and prints
# the machine, the results and, per page, the p50 and p99 latencies across
# the runs against the aim of 100 ms, for BENCHMARKS.md. Run from anywhere:
#   bash bench/web.sh
#
# Environment:
#   COUNT   runs of each page's benchmark (50 GETs each). Default: 3
#   OUT     folder for the raw results. Default: a new one under $TMPDIR
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

count="${COUNT:-3}"
out="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cointrail-web-results.XXXXXX")}"
mkdir -p "$out"

# shellcheck source=bench/machine.sh
source "$repo/bench/machine.sh"

step "machine"
machine
echo "results:  $out"

step "pages: -bench Pages -benchtime 50x -count $count"
go test -run '^$' -bench Pages -benchtime 50x -count "$count" -timeout 0 ./bench | tee "$out/web.txt"

step "summary: p50 and p99 per page, lowest to highest of $count runs, and p99 / 100 ms"
awk '
  /^BenchmarkPages\// {
    name = $1; sub(/^BenchmarkPages\//, "", name); sub(/-[0-9]+$/, "", name)
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    for (i = 3; i < NF; i++) {
      if ($(i+1) == "p50-ms") { v = $i + 0; if (!(name in p50lo) || v < p50lo[name]) p50lo[name] = v; if (v > p50hi[name]) p50hi[name] = v }
      if ($(i+1) == "p99-ms") { v = $i + 0; if (!(name in p99lo) || v < p99lo[name]) p99lo[name] = v; if (v > p99hi[name]) p99hi[name] = v }
    }
  }
  /^--- SKIP: BenchmarkPages\// { skipped[$3] = 1 }
  END {
    printf "%-20s %18s %18s %10s\n", "page", "p50 ms", "p99 ms", "p99/100ms"
    over = 0
    for (k = 1; k <= n; k++) {
      m = order[k]
      printf "%-20s %8.1f to %6.1f %8.1f to %6.1f %10.2f\n", m, p50lo[m], p50hi[m], p99lo[m], p99hi[m], p99hi[m] / 100
      if (p99hi[m] >= 100) over++
    }
    for (s in skipped) printf "%-20s skipped\n", s
    if (over) printf "\n%d page(s) over 100 ms at p99\n", over
    else printf "\nevery page under 100 ms at p99\n"
  }' "$out/web.txt"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) after the runs"
