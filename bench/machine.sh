# Sourced by the bench scripts: step prints a heading with the time, and
# machine describes the machine the figures come from, for BENCHMARKS.md.

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

machine() {
  echo "cpus:     $(nproc)"
  echo "cpu:      $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory:   $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1024/1024}' /proc/meminfo)"
  echo "kernel:   $(uname -sr)"
  echo "go:       $(go version)"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5 and 15 minutes; other work on the cores skews the figures)"
}
