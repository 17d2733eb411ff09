#!/usr/bin/env bash
# Side by side: this tool's `load`, Artillery (npm, its WebSocket engine) and Locust (PyPI, a
# small WebSocket user class, bench/peers/locustfile.py) driving the same conversation against
# the same simulator process (`web-messaging-tester simulate`, bot reply delay 1 ms):
# connect, configureSession, then twice: say `ping`, wait for the bot's `pong`.
#
# It installs the peers itself, into target/peers/ (or $PEERS_DIR), and says so:
#   Artillery 2.0.34 with npm (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: its browser engine is not
#   used and its download would fail offline), Locust 2.47.0 and websocket-client 1.9.2 with pip
#   into a venv. Needs node/npm, python3 (with venv), jq and /usr/bin/time.
#
# Two configurations, the same for the three tools, one after the other against one simulator:
#   rate  RATE new conversations per second for DURATION seconds (open model: Artillery's
#         arrivalRate; ours --arrival-rate; Locust USERS users each starting one every
#         USERS/RATE s with constant_pacing), no think time: throughput and latency.
#   held  HELD guests started over 2 s, each waiting 5 s before each say (ours: --say-delay 5s,
#         which waits for 5 s of bot silence): every guest connected at once, for memory per
#         guest.
# Recorded per tool: conversations/s and messages/s achieved (4 messages per conversation: 2
# says, 2 replies), client CPU seconds (user+sys) and peak RSS (/usr/bin/time), peak RSS per
# held guest, errors, and the latency percentiles each tool reports (see BENCHMARKS.md for how
# each measures them).
#
# Usage: bench/peers.sh        (RATE=200 DURATION=30 USERS=50 HELD=1000 to change the sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rate=${RATE:-200}
duration=${DURATION:-30}
users=${USERS:-50}
held=${HELD:-1000}
peers=${PEERS_DIR:-$root/target/peers}
. bench/lib.sh
bench_hint="node/npm: apt-get install nodejs npm" bench_require node npm python3 jq /usr/bin/time

mkdir -p "$peers"
artillery=$peers/node/node_modules/.bin/artillery
if [ ! -x "$artillery" ]; then
  echo "Installing Artillery 2.0.34 from npm into $peers/node (a few minutes)..." >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$peers/node" --no-audit --no-fund \
    artillery@2.0.34 >"$peers/npm.log" 2>&1 || { tail -n 20 "$peers/npm.log" >&2; exit 1; }
fi
locust=$peers/venv/bin/locust
if [ ! -x "$locust" ]; then
  echo "Installing Locust 2.47.0 and websocket-client 1.9.2 from PyPI into $peers/venv..." >&2
  python3 -m venv "$peers/venv"
  "$peers/venv/bin/pip" install -q locust==2.47.0 websocket-client==1.9.2 >"$peers/pip.log" 2>&1 ||
    { tail -n 20 "$peers/pip.log" >&2; exit 1; }
fi
cargo build --release --quiet -p web-messaging-tester
bin=$root/target/release/web-messaging-tester

bench_workdir
bench_ping_files 1
cat >"$work/token.js" <<'EOF'
module.exports = {
  setToken(context, events, done) {
    context.vars.token = require('crypto').randomUUID();
    return done();
  },
};
EOF

start_simulator
target="$url?deploymentId=bench"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); node $(node --version), $("$peers/venv/bin/python" --version)"
echo "simulator: $url (pid $sim_pid), bot reply delay 1 ms; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-6s %7s %8s %8s %8s %9s %7s  %s\n' tool config conv/s msg/s cpu_s rss_MiB KiB/guest errors \
  'latency as reported (ms): p50 / p95 / p99'

# Prints one result line; $1 tool, $2 config, $3 conversations, $4 seconds, $5 errors,
# $6 the latency text, $7 guests at once (for memory per guest).
line() {
  local user sys rss_kb
  read -r user sys rss_kb <"$work/time"
  awk -v t="$1" -v c="$2" -v n="$3" -v s="$4" -v e="$5" -v l="$6" -v u="$user" -v y="$sys" \
    -v r="$rss_kb" -v g="$7" 'BEGIN {
      printf "%-9s %-6s %7.1f %8.1f %8.2f %8.1f %9.1f %7s  %s\n", t, c, n / s, 4 * n / s, u + y,
        r / 1024, r / g, e, l }'
}

think_yaml() { [ "$1" = 0 ] || printf '      - think: %s\n' "$1"; }

artillery_run() { # config, arrival rate, phase seconds, think seconds, guests at once
  local config=$1 arrival=$2 phase=$3 think=$4 guests=$5
  {
    cat <<EOF
config:
  target: "$target"
  processor: "$work/token.js"
  phases:
    - duration: $phase
      arrivalRate: $arrival
scenarios:
  - engine: ws
    flow:
      - function: setToken
      - send:
          payload: '{"action":"configureSession","deploymentId":"bench","token":"{{ token }}"}'
          match: { json: "$.class", value: "SessionResponse" }
EOF
    for _ in 1 2; do
      think_yaml "$think"
      cat <<'EOF'
      - send:
          payload: '{"action":"onMessage","token":"{{ token }}","message":{"type":"Text","text":"ping"}}'
          match: { json: "$.body.direction", value: "Inbound" }
      - wait:
          match: { json: "$.body.text", value: "pong" }
EOF
    done
  } >"$work/artillery.yml"
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$artillery" run --output "$work/artillery.json" \
    "$work/artillery.yml" >"$work/artillery.out" 2>&1 || true
  end=$(date +%s%N)
  local completed errors latency seconds
  completed=$(jq '.aggregate.counters["vusers.completed"] // 0' "$work/artillery.json")
  errors=$(jq '.aggregate.counters["vusers.failed"] // 0' "$work/artillery.json")
  seconds=$(jq '((.aggregate.lastCounterAt // 0) - (.aggregate.firstCounterAt // 0)) / 1000' "$work/artillery.json")
  [ "$(awk -v s="$seconds" 'BEGIN { print (s > 0) }')" = 1 ] ||
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { print (b - a) / 1e9 }')
  latency=$(jq -r '.aggregate.summaries["vusers.session_length"] // {} |
    "session length \(.p50 // "-") / \(.p95 // "-") / \(.p99 // "-") (no per-reply time)"' "$work/artillery.json")
  line artillery "$config" "$completed" "$seconds" "$errors" "$latency" "$guests"
}

locust_run() { # config, users, spawn rate, run seconds, pacing seconds, think seconds
  local config=$1 n=$2 spawn=$3 seconds=$4 pacing=$5 think=$6
  WMT_PEER_URL=$target WMT_PEER_PACING=$pacing WMT_PEER_THINK=$think \
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$locust" -f bench/peers/locustfile.py --headless \
    -u "$n" -r "$spawn" -t "${seconds}s" --stop-timeout 30 --csv "$work/locust" --only-summary \
    >"$work/locust.out" 2>&1 || true
  local parsed
  parsed=$("$peers/venv/bin/python" - "$work/locust_stats.csv" <<'EOF'
import csv, sys
rows = {r["Name"]: r for r in csv.DictReader(open(sys.argv[1]))}
conv = rows.get("conversation", {})
pong = rows.get("say -> pong", {})
ok = int(conv.get("Request Count", 0)) - int(conv.get("Failure Count", 0))
print(ok, conv.get("Failure Count", 0), f'say->pong {pong.get("50%", "-")} / {pong.get("95%", "-")} / {pong.get("99%", "-")}')
EOF
  )
  local completed errors latency
  read -r completed errors latency <<<"$parsed"
  line locust "$config" "$completed" "$seconds" "$errors" "$latency" "$n"
}

ours_run() { # config, guests at once, then load's options
  local config=$1 guests=$2
  shift 2
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin" load "$work/script.yml" --endpoint "$url" \
    -id bench --color never --report-json "$work/ours.json" "$@" >"$work/ours.out" 2>&1 || true
  local completed errors seconds latency
  completed=$(jq '.conversations.completed' "$work/ours.json")
  errors=$(jq '.errors.total' "$work/ours.json")
  seconds=$(jq '.wallTimeMs / 1000' "$work/ours.json")
  latency=$(jq -r '"say->reply \(.responseTimeMs.p50) / \(.responseTimeMs.p95) / \(.responseTimeMs.p99); conversation \(.conversationMs.p50) / \(.conversationMs.p95) / \(.conversationMs.p99)"' "$work/ours.json")
  line ours "$config" "$completed" "$seconds" "$errors" "$latency" "$guests"
}

# rate: the same arrivals per second for the same time.
ours_run rate "$users" --arrival-rate "$rate" --duration "${duration}s" --users "$users" --say-delay 0
artillery_run rate "$rate" "$duration" 0 "$users"
locust_run rate "$users" "$users" "$duration" "$(awk -v u="$users" -v r="$rate" 'BEGIN { print u / r }')" 0

# held: every guest connected at once, 5 s before each say.
ours_run held "$held" --users "$held" --ramp-up 2s --iterations 1 --say-delay 5s
artillery_run held "$((held / 2))" 2 5 "$held"
locust_run held "$held" "$((held / 2))" 14 1000 5
