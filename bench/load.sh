#!/usr/bin/env bash
# Benchmark of `web-messaging-tester load`: 1,000, 5,000 and 10,000 concurrent guests against
# the simulator served by another process (`simulate`, bot delay 0), each guest holding a short
# conversation: say, wait for the reply, say, wait for the reply.
#
# Two configurations per size, each with a fresh simulator (so its peak RSS is per size):
#   held     --ramp-up 2s --say-delay 2s, one conversation per guest. The say delay (Genesys'
#            default pacing) keeps every conversation open for about 4 s, so all the guests are
#            connected at once; with a bot that answers at once, the response time is what the
#            client (and the simulator) add.
#   flat-out --say-delay 0, no ramp-up, 3 conversations per guest: the most conversations and
#            messages per second (every guest always waiting, so response times are queueing).
# Recorded: wall time of the load phase, conversations/s, messages/s (guest + bot), client CPU
# seconds and peak RSS (/usr/bin/time), the simulator's CPU seconds and peak RSS (/proc), the
# most guests at once, the response time p50/p99 and the errors.
#
# With two sizes or more, it also prints the memory per held guest: the difference of the held
# runs' client peak RSS between the largest and the smallest size, over the difference of guests
# ((RSS(big) - RSS(small)) / (big - small)): what one more connected guest costs, without the
# process's fixed memory (runtime, TLS roots, allocator).
#
# Usage: bench/load.sh [GUESTS...]    (default: 1000 5000 10000; needs jq and /usr/bin/time)
#        WMT_BIN=path/to/web-messaging-tester bench/load.sh ...   (measure that binary instead)
#        CONFIGS=held bench/load.sh 200 4000   (only these configurations: held, flat-out)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 5000 10000)
. bench/lib.sh
bench_require jq /usr/bin/time
read -r -a configs <<<"${CONFIGS:-held flat-out}"
if [ -n "${WMT_BIN:-}" ]; then
  bin=$WMT_BIN # another build to compare, e.g. with a changed library
else
  cargo build --release --quiet -p web-messaging-tester
  bin=$PWD/target/release/web-messaging-tester
fi
bench_workdir
bench_ping_files 0

ticks=$(getconf CLK_TCK)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), open files $(ulimit -n)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %-9s %7s %8s %8s %8s %10s %8s %8s %7s %8s %8s %7s\n' \
  guests config wall_s conv/s msg/s cli_cpu cli_rss_MiB sim_cpu sim_MiB peak p50_ms p99_ms errors

stop_simulator() {
  read -r sim_cpu_ticks < <(awk '{print $14 + $15}' "/proc/$sim_pid/stat")
  sim_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$sim_pid/status")
  kill "$sim_pid"
  wait "$sim_pid" 2>/dev/null || true
  sim_pid=
}

run() {
  local guests=$1 config=$2
  shift 2
  start_simulator
  local status=0
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin" load "$work/script.yml" \
    --endpoint "$url" -id bench --users "$guests" --report-json "$work/report.json" \
    --color never "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
  stop_simulator
  if [ ! -s "$work/report.json" ]; then
    echo "$guests $config: no report (exit $status)" >&2
    tail -n 20 "$work/err.txt" >&2
    return
  fi
  local user sys rss_kb cpu sim_cpu
  # The last line: /usr/bin/time puts "Command exited with non-zero status N" before it.
  read -r user sys rss_kb < <(tail -n 1 "$work/time")
  if [ "$config" = held ]; then
    echo "$guests $rss_kb $(jq '.peakActiveGuests' "$work/report.json")" >>"$work/held"
  fi
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  sim_cpu=$(awk -v t="$sim_cpu_ticks" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz }')
  jq -r --arg g "$guests" --arg c "$config" --arg cpu "$cpu" --arg rss "$rss_kb" \
    --arg scpu "$sim_cpu" --arg srss "$sim_rss_kb" '
    [$g, $c, (.wallTimeMs / 1000),
     (.conversations.perSecond | round), (.messages.perSecond | round), $cpu,
     ($rss | tonumber / 1024 | round), $scpu, ($srss | tonumber / 1024 | round),
     .peakActiveGuests, (.responseTimeMs.p50 // 0), (.responseTimeMs.p99 // 0), .errors.total]
    | @tsv' "$work/report.json" |
    awk -F'\t' '{ printf "%-7s %-9s %7.2f %8s %8s %8s %10s %8s %8s %7s %8s %8s %7s\n",
                  $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
  if [ "$(jq '.errors.total' "$work/report.json")" != 0 ]; then
    jq -c '.errors.byKind' "$work/report.json" >&2
  fi
  rm -f "$work/report.json"
}

for guests in "${sizes[@]}"; do
  for config in "${configs[@]}"; do
    case $config in
      held) run "$guests" held --iterations 1 --ramp-up 2s --say-delay 2s ;;
      flat-out) run "$guests" flat-out --iterations 3 --say-delay 0 ;;
      *) echo "unknown configuration '$config' (held, flat-out)" >&2; exit 2 ;;
    esac
  done
done
if [ -s "$work/held" ] && [ "$(wc -l <"$work/held")" -ge 2 ]; then
  # Smallest and largest held run; a run whose guests were not all connected at once says so.
  sort -n "$work/held" | awk 'NR == 1 { g0 = $1; r0 = $2 } { g = $1; r = $2; if ($3 != $1) short = short " " $1 }
    END {
      if (g == g0) exit
      printf "memory per held guest: (%d KiB - %d KiB) / (%d - %d guests) = %.1f KiB\n", r, r0, g, g0, (r - r0) / (g - g0)
      if (short != "") print "  (not every guest was connected at once in the runs of" short " guests)"
    }'
fi
