#!/usr/bin/env bash
# Benchmarks chain ingest: `cointrail ingest bitcoin --blocks` of mainnet
# blocks 0 to 14131 (btcd's test data) and of the real blocks 277647 and
# 413567 (the shared data), as a process of its own, with its wall time and
# peak resident memory; then the Go benchmarks that set ingest against a
# bare wire.MsgBlock.Deserialize of the same blocks in the same run
# (bench/chain_test.go) and the graph's layout and sweep
# (internal/chainstore). It prints the machine first, for BENCHMARKS.md.
#
# Run from anywhere: bash bench/chain.sh
#
# Environment:
#   COINTRAIL_SHARED  the shared data set. Default: ../shared beside the
#                     repository
#   COUNT             runs of each Go benchmark. Default: 3
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export COINTRAIL_SHARED="${COINTRAIL_SHARED:-$(cd "$repo/.." && pwd)/shared}"
count="${COUNT:-3}"
work=$(mktemp -d "${TMPDIR:-/tmp}/cointrail-chain-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=bench/machine.sh
source "$repo/bench/machine.sh"

step "machine"
machine
echo "disk:     $(df -h "$work" | awk 'NR==2 {print $1 " (" $2 ")"}')"

go build -o "$work/cointrail" ./cmd/cointrail
btcd=$(go list -m -f '{{.Dir}}' github.com/btcsuite/btcd)/blockchain/testdata/blk_0_to_14131.dat

# ingest NAME FILE...: one ingest into a new data folder, its time and peak
# memory as GNU time measures them (getrusage: the process's maximum RSS).
ingest() {
  local name=$1; shift
  local dir="$work/$name"
  "$work/cointrail" init --data "$dir" >/dev/null
  step "cointrail ingest bitcoin: $name"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB, user %U s, sys %S s" \
    "$work/cointrail" ingest bitcoin --data "$dir" --network mainnet --blocks "$@" >/dev/null
  echo "index:    $(du -sh --apparent-size "$dir/chain" | cut -f1) (apparent size; Pebble preallocates its write-ahead logs beyond that)"
}
ingest mainnet-0-14131 "$btcd"
ingest blocks-277647-413567 "$COINTRAIL_SHARED/data/bitcoin/block277647.framed.dat" "$COINTRAIL_SHARED/data/bitcoin/block413567.raw"

step "ingest against a bare decode of the same blocks: -count $count"
go test -run '^$' -bench '^BenchmarkChainIngest$' -benchtime 3x -count "$count" -timeout 0 ./bench

step "the graph: bytes per record and a sweep (chainstore)"
go test -run '^$' -bench '^(BenchmarkGraphSweep|BenchmarkBlock413567)$' -benchtime 10x -count "$count" -timeout 0 ./internal/chainstore
