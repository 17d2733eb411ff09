#!/usr/bin/env bash
# Long runs of the project's property tests: the frame decoder (genesys-web-messaging,
# tests/prop_frames.rs), the test-script loader (web-messaging-tester, tests/prop_script.rs)
# and the bot-flow loader (web-messaging-simulator, tests/prop_flow.rs), each with many more
# cases than `cargo test` runs. Every property gets PROPTEST_CASES inputs; each test target is
# stopped after a time limit. Prints, per target: the properties, how many passed, the inputs
# tried (cases x passed properties; a failed property tried at most that many), the time, and
# every panic or failure with proptest's minimal failing input.
#
# Usage: bench/fuzz.sh [CASES] [SECONDS_PER_TARGET]
#        defaults: CASES=${PROPTEST_CASES:-100000}, SECONDS_PER_TARGET=${FUZZ_SECONDS:-3600}
#        FUZZ_TARGETS="web-messaging-simulator:prop_flow" bench/fuzz.sh 20000   (one target)
#        FUZZ_RELEASE=1 bench/fuzz.sh   (optimised test binaries: slower to build, faster to run)
# Exit status: 0 when every property passed, 1 when one failed or panicked, 3 when a target hit
# its time limit without a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
cases=${1:-${PROPTEST_CASES:-100000}}
limit=${2:-${FUZZ_SECONDS:-3600}}
targets=${FUZZ_TARGETS:-"genesys-web-messaging:prop_frames web-messaging-tester:prop_script web-messaging-simulator:prop_flow"}
profile=()
[ -n "${FUZZ_RELEASE:-}" ] && profile=(--release)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
total_inputs=0
echo "fuzz: $cases cases per property, at most ${limit}s per target; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %6s %6s %6s %12s %8s %s\n' target props passed failed inputs seconds result
for target in $targets; do
  crate=${target%%:*}
  test=${target#*:}
  file=$(ls crates/*/tests/"$test".rs 2>/dev/null | head -n1)
  if [ -z "$file" ]; then
    printf '%-52s %s\n' "$crate --test $test" "skipped: no tests/$test.rs in this checkout"
    continue
  fi
  if ! cargo test "${profile[@]}" --quiet -p "$crate" --test "$test" --no-run 2>"$work/build.err"; then
    printf '%-52s %s\n' "$crate --test $test" "does not build:"
    sed 's/^/    /' "$work/build.err" | tail -n 20
    status=1
    continue
  fi
  props=$(cargo test "${profile[@]}" --quiet -p "$crate" --test "$test" -- --list 2>/dev/null | grep -c ': test$')
  start=$(date +%s)
  PROPTEST_CASES=$cases RUST_BACKTRACE=0 timeout --signal=INT --kill-after=30 "$limit" \
    cargo test "${profile[@]}" -p "$crate" --test "$test" -- --test-threads=1 \
    >"$work/out" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - start ))
  passed=$(grep -cE '^test .* \.\.\. ok$' "$work/out")
  failed=$(grep -cE '^test .* \.\.\. FAILED$' "$work/out")
  inputs=$(( passed * cases ))
  total_inputs=$(( total_inputs + inputs ))
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 130 ] || [ "$rc" -eq 137 ]; then
    result="time limit hit"
    [ "$status" -eq 0 ] && status=3
  elif [ "$rc" -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc)"
    status=1
  fi
  printf '%-52s %6s %6s %6s %12s %8s %s\n' "$crate --test $test" "$props" "$passed" "$failed" "$inputs" "$seconds" "$result"
  panics=$(grep -c 'panicked at' "$work/out")
  if [ "$panics" -gt 0 ] || [ "$failed" -gt 0 ]; then
    echo "  panicking inputs (shrinking included): $panics; failing properties: $failed"
    grep -E '^test .* FAILED$' "$work/out" | sed 's/^/    /'
    # Proptest's verdict per failing property: the error and the minimal failing input.
    grep -E 'Test failed|minimal failing input' "$work/out" | sed 's/^/    /' | head -n 40
    # A panic outside proptest (or before shrinking ends): its first lines.
    grep -m 3 -A1 'panicked at' "$work/out" | sed 's/^/    /'
  fi
done
echo "inputs tried in all: $total_inputs"
exit "$status"
