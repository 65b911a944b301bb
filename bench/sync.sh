#!/usr/bin/env bash
# Benchmarks a sync between two cointrail nodes on this machine, each a
# `cointrail serve` process on loopback. Node A holds OBJECTS objects, signed
# with A's node key; node B starts empty (SQLite), adds A as a peer and pulls
# over TAXII 2.1, verifying every signature. It prints the machine and, per
# page size B pulls with, the wall time from `peer add` until B holds every
# object, objects/s, and each node's peak memory (VmHWM) and CPU time.
#
# Not part of go test. Run from anywhere:
#   bash bench/sync.sh                    # 1,000,000 objects
#   OBJECTS=100000 bash bench/sync.sh     # a quick run
#
# A's data folder is filled before A starts, through intel.Service.Submit
# with A's key (bench/cmd/syncbench fill), and kept under
# $TMPDIR/cointrail-bench/sync-a-<objects>-...; reruns skip the fill (1M
# objects take several minutes). Each run copies it, so runs do not change
# it. Every TLP:AMBER case is shared with B's organisation on A (bravo), so B
# gets every object.
#
# Environment:
#   OBJECTS   objects A holds and B pulls, a multiple of 1,000.
#             Default: 1000000
#   PAGES     page sizes B pulls with (serve --sync-page), one run each.
#             Default: "1000 5000"
#   KEEP=1    keep the run's folder (both nodes' data folders and logs)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

objects="${OBJECTS:-1000000}"
pages="${PAGES:-1000 5000}"
tmp="${TMPDIR:-/tmp}"
cache="$tmp/cointrail-bench"
work=$(mktemp -d "$tmp/cointrail-sync.XXXXXX")
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "${KEEP:-}" = 1 ]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# shellcheck source=bench/machine.sh
source "$repo/bench/machine.sh"

step "machine"
machine
echo "objects:  $objects; page sizes: $pages"
echo "work:     $work"

step "build"
bin="$work/cointrail"
sb="$work/syncbench"
go build -o "$bin" ./cmd/cointrail
go build -o "$sb" ./bench/cmd/syncbench
echo "$bin, $sb"

step "fill node A"
mkdir -p "$cache"
dirA="$cache/$("$sb" key -objects "$objects")"
if [ ! -f "$dirA/node.json" ]; then
  rm -rf "$dirA"
  "$bin" init --data "$dirA" --org alpha >/dev/null
fi
"$sb" fill -data "$dirA" -objects "$objects"
echo "A: $dirA, $(du -sh "$dirA" | cut -f1)"

# start_node DIR LOG [serve flags...] starts a node on a free loopback port
# and sets node_pid and node_url once it serves.
start_node() {
  local dir=$1 log=$2
  shift 2
  : >"$log"
  "$bin" serve --data "$dir" --listen 127.0.0.1:0 --log-format json "$@" >"$log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  node_url=""
  for _ in $(seq 600); do
    node_url=$(sed -n 's/.*"msg":"serving".*"url":"\([^"]*\)".*/\1/p' "$log" | head -n1)
    if [ -n "$node_url" ]; then
      return 0
    fi
    if ! kill -0 "$node_pid" 2>/dev/null; then
      cat "$log" >&2
      echo "node $dir exited before serving" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "node $dir did not serve within 60s" >&2
  exit 1
}

# stop_node PID stops a node and waits for it.
stop_node() {
  kill -TERM "$1"
  wait "$1" || true
}

# hwm_mib PID: the process's peak resident memory (VmHWM) in MiB.
hwm_mib() { awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# cpu_s PID: the process's CPU time (user + system) in seconds.
cpu_s() { awk -v tck="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / tck}' "/proc/$1/stat"; }

summary=()
for page in $pages; do
  step "sync of $objects objects, B pulling pages of $page"
  a="$work/a-$page"
  b="$work/b-$page"
  cp -a "$dirA" "$a"
  tok=$("$bin" token create --org bravo --role sync --data "$a")
  key=$("$bin" node key --data "$a")
  "$bin" init --data "$b" --org bravo >/dev/null

  start_node "$a" "$work/a-$page.log"
  pidA=$node_pid
  urlA=$node_url
  start_node "$b" "$work/b-$page.log" --sync-interval 1s --sync-page "$page"
  pidB=$node_pid
  echo "A: pid $pidA, $urlA; B: pid $pidB, $node_url"

  t0=$(date +%s%N)
  "$bin" peer add a --url "$urlA" --token "$tok" --key "$key" --data "$b"
  "$sb" wait -data "$b" -objects "$objects" -since "$t0" >"$work/wait-$page.txt"
  first=$(awk '$1 == "first" {print $2}' "$work/wait-$page.txt")
  all=$(awk '$1 == "all" {print $2}' "$work/wait-$page.txt")

  # The round's status is written when the pull reaches the end of A's feed.
  pulled=0
  rejected=0
  for _ in $(seq 600); do
    status=$("$bin" peer list --json --data "$b")
    pulled=$(jq '.[0].status.pulled' <<<"$status")
    rejected=$(jq '.[0].status.rejected' <<<"$status")
    if [ "$pulled" -ge "$objects" ]; then
      break
    fi
    sleep 0.1
  done
  hwmA=$(hwm_mib "$pidA")
  cpuA=$(cpu_s "$pidA")
  hwmB=$(hwm_mib "$pidB")
  cpuB=$(cpu_s "$pidB")
  stop_node "$pidB"
  stop_node "$pidA"
  held=$("$sb" count -data "$b" -source "$a")

  rate=$(awk -v n="$objects" -v t="$all" 'BEGIN {printf "%.0f", n / t}')
  steady=$(awk -v n="$objects" -v t="$all" -v f="$first" 'BEGIN {printf "%.0f", n / (t - f)}')
  aim=$(awk -v n="$objects" -v t="$all" 'BEGIN {printf "%.2f", t * 1000000 / n / 120}')
  echo "B holds $held of A's objects (status: $pulled pulled, $rejected rejected;" \
    "the rejections are A's organisation identities, which A stores unsigned)"
  echo "time from peer add: first object ${first}s, all ${all}s"
  echo "rate: $rate objects/s ($steady objects/s from the first object on)"
  echo "1M at this rate: $(awk -v r="$rate" 'BEGIN {printf "%.0f", 1000000 / r}')s, $aim x the 2-minute aim"
  echo "A: peak RSS ${hwmA} MiB, CPU ${cpuA}s; B: peak RSS ${hwmB} MiB, CPU ${cpuB}s; B's folder $(du -sh "$b" | cut -f1)"
  if [ "$held" -ne "$objects" ]; then
    echo "B holds $held objects, want $objects" >&2
    exit 1
  fi
  summary+=("$(printf '%-6s %10s %12s %12s %10s %10s %8s %8s' "$page" "$all" "$rate" "$aim" "$hwmA" "$hwmB" "$cpuA" "$cpuB")")
  if [ "${KEEP:-}" != 1 ]; then
    rm -rf "$a" "$b"
  fi
done

step "summary: $objects objects, A to B (SQLite), wall time from peer add"
printf '%-6s %10s %12s %12s %10s %10s %8s %8s\n' page seconds objects/s "x 2-min aim" "A MiB" "B MiB" "A CPU s" "B CPU s"
printf '%s\n' "${summary[@]}"
