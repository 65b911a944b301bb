#!/usr/bin/env bash
# Runs cointrail's end-to-end benchmarks (bench/bench_test.go) on SQLite and
# PostgreSQL and prints the machine, the results and a summary, for
# BENCHMARKS.md. Run from anywhere: bash bench/run.sh
#
# Environment:
#   COINTRAIL_TEST_POSTGRES  admin URL of a PostgreSQL server the benchmarks
#                            create databases on. Default: the local server,
#                            postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#   COINTRAIL_BENCH_LARGE=1  also read 1M objects, over REST and TAXII (the
#                            first run fills each store, which takes
#                            minutes; the filled stores are kept:
#                            $TMPDIR/cointrail-bench/*.db and the databases
#                            cointrail_bench_<size> and
#                            cointrail_bench_signed_<size>)
#   COUNT                    runs of each benchmark. Default: 3
#   OUT                      folder for the raw results. Default: a new one
#                            under $TMPDIR
#   PROFILE=1                also write a CPU profile of one ingest run per
#                            store and of the receive path of a sync (SQLite),
#                            and print their top functions
#
# The sync between two node processes is bench/sync.sh, run apart.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

export COINTRAIL_TEST_POSTGRES="${COINTRAIL_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
count="${COUNT:-3}"
out="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/cointrail-bench-results.XXXXXX")}"
mkdir -p "$out"

# shellcheck source=bench/machine.sh
source "$repo/bench/machine.sh"

step "machine"
machine
if pg=$(psql "$COINTRAIL_TEST_POSTGRES" -XAtc 'SHOW server_version' 2>/dev/null); then
  echo "postgres: $pg ($(psql "$COINTRAIL_TEST_POSTGRES" -XAtc "SELECT current_setting('shared_buffers') || ' shared_buffers, synchronous_commit ' || current_setting('synchronous_commit')"))"
else
  echo "postgres: not reachable at COINTRAIL_TEST_POSTGRES; the PostgreSQL benchmarks will be skipped"
fi
echo "results:  $out"

# run NAME PATTERN BENCHTIME: one go test run, its output kept in $out/NAME.txt.
run() {
  local name=$1 pattern=$2 benchtime=$3
  step "$name: -bench '$pattern' -benchtime $benchtime -count $count"
  go test -run '^$' -bench "$pattern" -benchtime "$benchtime" -count "$count" -benchmem -timeout 0 ./bench \
    | tee "$out/$name.txt"
}

# Ingest: 20 bundles of 1,000 objects per run, each run into an empty store.
run ingest '^BenchmarkIngest$' 20x
# Read: 10 passes over the 10k store per run.
run read-10k '^BenchmarkRead$/^(sqlite|postgres)$/^10k$' 10x
if [ "${COINTRAIL_BENCH_LARGE:-}" = 1 ]; then
  export COINTRAIL_BENCH_LARGE
  # One pass (about 667 pages) per run.
  run read-1M '^BenchmarkRead$/^(sqlite|postgres)$/^1M$' 1x
fi

# TAXII 2.1, on a node that signs what its organisations submit: adds of
# envelopes of 1,000 objects (20 per run, each run into an empty store), and
# the paged read of the signed stores (10 passes over 10k, one over 1M).
run taxii-add '^BenchmarkTAXIIAdd$' 20x
run taxii-read-10k '^BenchmarkTAXIIRead$/^(sqlite|postgres)$/^10k$' 10x
if [ "${COINTRAIL_BENCH_LARGE:-}" = 1 ]; then
  run taxii-read-1M '^BenchmarkTAXIIRead$/^(sqlite|postgres)$/^1M$' 1x
fi
# What a pulling node does with each page, without HTTP: 20 pages of 1,000
# signed objects per run.
run receive '^BenchmarkReceive$' 20x

if [ "${PROFILE:-}" = 1 ]; then
  for store in sqlite postgres; do
    step "CPU profile of BenchmarkIngest/$store"
    go test -run '^$' -bench "^BenchmarkIngest\$/^$store\$" -benchtime 20x -timeout 0 \
      -cpuprofile "$out/ingest-$store.cpu" -o "$out/bench.test" ./bench
    go tool pprof -top -nodecount 25 "$out/bench.test" "$out/ingest-$store.cpu" 2>/dev/null | tail -n +6
    go tool pprof -top -cum -nodecount 60 "$out/bench.test" "$out/ingest-$store.cpu" 2>/dev/null \
      | grep -E 'cointrail|modernc.org/sqlite\.|pgx|net/http\.\(' | head -25
  done
  step "CPU profile of BenchmarkReceive/sqlite"
  go test -run '^$' -bench '^BenchmarkReceive$/^sqlite$' -benchtime 30x -timeout 0 \
    -cpuprofile "$out/receive-sqlite.cpu" -o "$out/bench.test" ./bench
  go tool pprof -top -cum -nodecount 70 "$out/bench.test" "$out/receive-sqlite.cpu" 2>/dev/null \
    | grep -E 'cointrail|jcs|ed25519\.Verify$|encoding/json\.Unmarshal$|modernc.org/sqlite\.|runtime\.(mallocgc|gcBgMarkWorker)$' | head -30
fi

step "summary: objects/s (mean of $count runs) and SQLite/PostgreSQL"
cat "$out"/*.txt | awk '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    for (i = 3; i < NF; i++) if ($(i+1) == "objects/s") { sum[name] += $i; n[name]++ }
  }
  END {
    for (k in sum) {
      mean[k] = sum[k] / n[k]
      printf "%-34s %10.0f objects/s\n", k, mean[k] | "sort"
    }
    close("sort")
    for (k in mean) if (k ~ /\/sqlite/) {
      p = k; sub(/\/sqlite/, "/postgres", p)
      r = k; sub(/\/sqlite/, "", r)
      if (p in mean) printf "%-34s %10.2f (SQLite/PostgreSQL)\n", r, mean[k] / mean[p] | "sort"
    }
    close("sort")
  }'

step "benchstat"
cat "$out"/*.txt > "$out/all.results"
if command -v benchstat >/dev/null; then
  benchstat "$out/all.results"
elif go run golang.org/x/perf/cmd/benchstat@latest -h >/dev/null 2>&1; then
  go run golang.org/x/perf/cmd/benchstat@latest "$out/all.results"
else
  echo "benchstat is not installed and cannot be fetched; raw results are in $out"
fi
