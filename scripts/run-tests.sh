#!/usr/bin/env bash
# Runs every built test project (tests/*.Tests, Release) and writes one xUnit XML and log per project
# into RESULTS_DIR. Used by test.sh directly on a host with /dev/kvm, and inside scripts/nested-kvm.sh
# on a host without one. Usage: scripts/run-tests.sh RESULTS_DIR [extra xunit runner arguments...]
# With more than one CPU, Ember.Vmm.Tests (the Linux boots, minutes on a software KVM) runs beside
# the other projects instead of after them.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1; shift
rm -rf "$results" && mkdir -p "$results"
# The verbose reporter logs each test as it starts and finishes; a watchdog names on the console any test
# that has made no progress for 4 minutes (a hang shows up as it happens, not in a log read afterwards).
run_project() {
  local name=$1; shift
  local log="$results/$name.log"
  : > "$log"
  watch_progress "$name" "$log" &
  local watcher=$!
  local status
  if [ -n "${EMBER_TEST_TRACE:-}" ]; then
    # A live copy of the log (the nested VM's second serial port), prefixed with the project's name.
    "tests/$name/bin/Release/net10.0/$name" -noColor -reporter verbose -result-xml "$results/$name.xml" "$@" 2>&1 \
      | tee "$log" | sed -u "s/^/[$name] /" >> "$EMBER_TEST_TRACE"
    status=${PIPESTATUS[0]}
  else
    "tests/$name/bin/Release/net10.0/$name" -noColor -reporter verbose -result-xml "$results/$name.xml" "$@" > "$log" 2>&1
    status=$?
  fi
  kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
  return $status
}
watch_progress() {
  local name=$1 log=$2 previous="" still=0
  while sleep 30; do
    local size; size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [ "$size" = "$previous" ]; then still=$((still + 1)); else still=0; previous=$size; fi
    if [ "$still" -eq 8 ]; then
      echo "  $name: no progress for 4 minutes; running: $(grep -E '\[STARTING\]' "$log" | tail -n 1 | sed 's/^ *//')"
    fi
  done
}
report() {
  echo "== $1"
  grep -E "\[FAIL\]$|^\s+(Assert|Expected|Actual)|Total:" "$results/$1.log" | head -40 || true
}
status=0
background=""
if [ "$(nproc)" -gt 1 ] && [ -d tests/Ember.Vmm.Tests ]; then
  background=Ember.Vmm.Tests
  run_project "$background" "$@" &
  background_pid=$!
fi
for project in tests/*.Tests; do
  name=$(basename "$project")
  [ "$name" = "$background" ] && continue
  run_project "$name" "$@" || status=1
  report "$name"
done
if [ -n "$background" ]; then
  wait "$background_pid" || status=1
  report "$background"
fi
exit $status
