# Shared by the load benchmarks (bench/load.sh, bench/peers.sh); sourced, not run.
#
# bench_require TOOL... : exits 2 naming the first tool that is missing ($bench_hint is added).
# bench_workdir         : $work, a temporary folder removed on exit with the simulator.
# bench_ping_files MS   : $work/bot.yml (answers `ping` with `pong` after MS ms) and
#                         $work/script.yml (one scenario: say ping, wait for pong, twice).
# start_simulator       : `$bin simulate $work/bot.yml` in the background; sets $sim_pid and
#                         $url (waits up to 30 s for the URL, exits 1 if it never comes).

bench_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "$(basename "$0") needs $tool${bench_hint:+ ($bench_hint)}" >&2
      exit 2
    }
  done
}

bench_workdir() {
  work=$(mktemp -d)
  sim_pid=
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}

bench_ping_files() {
  cat >"$work/bot.yml" <<YAML
replyDelayMs: $1
states:
  main:
    - when: { contains: ping }
      reply: pong
YAML
  cat >"$work/script.yml" <<'YAML'
scenarios:
  Ping twice:
    - say: ping
    - waitForReplyContaining: pong
    - say: ping
    - waitForReplyContaining: pong
YAML
}

start_simulator() {
  "$bin" simulate "$work/bot.yml" >"$work/sim.url" 2>"$work/sim.err" &
  sim_pid=$!
  for _ in $(seq 600); do
    [ -s "$work/sim.url" ] && break
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.05
  done
  url=$(head -n1 "$work/sim.url")
  if [ -z "$url" ]; then
    echo "the simulator did not start: $(cat "$work/sim.err")" >&2
    exit 1
  fi
}
