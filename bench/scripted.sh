#!/usr/bin/env bash
# Benchmark: examples/survey/pass.yml against the in-process simulator, --parallel 1 and 3
# (say delay 0, the simulator default), and --parallel 3 with the 2 s say delay used against
# real deployments. Builds the release binary, runs each configuration RUNS times (default 10),
# and prints the mean, min and max wall time and the peak RSS. Usage: bench/scripted.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --release --quiet -p web-messaging-tester
bin=target/release/web-messaging-tester
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
for config in "1 0" "3 0" "3 2s"; do
  read -r parallel say_delay <<<"$config"
  times=()
  peak_kb=0
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    if command -v /usr/bin/time >/dev/null; then
      /usr/bin/time -f '%M' -o /tmp/wmt-bench-rss "$bin" scripted examples/survey/pass.yml \
        --simulate examples/survey/bot.yml -p "$parallel" --say-delay "$say_delay" >/dev/null 2>&1
      kb=$(cat /tmp/wmt-bench-rss)
      (( kb > peak_kb )) && peak_kb=$kb
    else
      "$bin" scripted examples/survey/pass.yml --simulate examples/survey/bot.yml -p "$parallel" \
        --say-delay "$say_delay" >/dev/null 2>&1
    fi
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | awk -v p="$parallel" -v d="$say_delay" -v runs="$runs" -v rss="$peak_kb" '
    { sum += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
    END { printf "--parallel %d --say-delay %s: %d runs, mean %.0f ms, min %d ms, max %d ms, peak RSS %s\n",
          p, d, runs, sum / NR, min, max, (rss > 0 ? sprintf("%.1f MiB", rss / 1024) : "n/a") }'
done
