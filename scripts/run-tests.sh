#!/usr/bin/env bash
# Runs every built test project (tests/*.Tests, Release) and writes one xUnit XML and log per unit into
# RESULTS_DIR. Used by test.sh directly on a host with /dev/kvm, and inside scripts/nested-kvm.sh on a
# host without one. Usage: scripts/run-tests.sh RESULTS_DIR [extra xunit runner arguments...]
# A unit is a test project, except with EMBER_TEST_UNITS=split, where each class of a `*.Linux` namespace
# (a Linux boot: where the nested test VM has frozen) is a unit of its own and the rest of its project
# another. A finished unit leaves UNIT.done (synced to disk); with EMBER_TEST_RESUME=1 the results of
# an earlier try stay and finished units are not run again, so a frozen nested VM restarted on the same
# disk goes on where it stopped.
# With more than one CPU, Ember.Vmm.Tests (the Linux boots, minutes on a software KVM) runs beside
# the other projects instead of after them.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1; shift
if [ "${EMBER_TEST_RESUME:-0}" = 1 ]; then mkdir -p "$results"; else rm -rf "$results" && mkdir -p "$results"; fi
# The verbose reporter logs each test as it starts and finishes; a watchdog names on the console any test
# that has made no progress for 4 minutes (a hang shows up as it happens, not in a log read afterwards).
run_unit() {
  local unit=$1 project=$2; shift 2
  local log="$results/$unit.log"
  if [ -e "$results/$unit.done" ]; then
    echo "== $unit: finished in an earlier try"
    return "$(cat "$results/$unit.done")"
  fi
  : > "$log"
  watch_progress "$unit" "$log" &
  local watcher=$!
  local status
  if [ -n "${EMBER_TEST_TRACE:-}" ]; then
    # A live copy of the log (the nested VM's second serial port), prefixed with the unit's name.
    "tests/$project/bin/Release/net10.0/$project" -noColor -reporter verbose -result-xml "$results/$unit.xml" "$@" 2>&1 \
      | tee "$log" | sed -u "s/^/[$unit] /" >> "$EMBER_TEST_TRACE"
    status=${PIPESTATUS[0]}
  else
    "tests/$project/bin/Release/net10.0/$project" -noColor -reporter verbose -result-xml "$results/$unit.xml" "$@" > "$log" 2>&1
    status=$?
  fi
  kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
  [ "$status" -eq 0 ] || status=1
  echo "$status" > "$results/$unit.done"
  sync
  report "$unit"
  return $status
}
# Runs one project: as one unit, or split (see above).
run_project() {
  local name=$1; shift
  if [ "${EMBER_TEST_UNITS:-}" != split ]; then
    run_unit "$name" "$name" "$@"
    return
  fi
  local binary="tests/$name/bin/Release/net10.0/$name" status=0 linux
  linux=$(printf '%s.Linux' "${name%.Tests}.Tests")
  run_unit "$name" "$name" -namespace- "$linux" "$@" || status=1
  local classes
  classes=$("$binary" -noColor -list classes -namespace "$linux" "$@" 2>/dev/null | grep -E "^$linux\.[A-Za-z0-9_]+$" || true)
  for class in $classes; do
    run_unit "$name.${class##*.}" "$name" -class "$class" "$@" || status=1
  done
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
# Each failure with the lines that follow it (xUnit's message and the first stack frames), so a CI log
# says why a test failed, not only which.
report() {
  echo "== $1"
  grep -E -A 8 "\[FAIL\]$" "$results/$1.log" | grep -v -E "^\s+at (System|Xunit)\." | head -60 || true
  grep -E "Total:" "$results/$1.log" || true
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
done
if [ -n "$background" ]; then
  wait "$background_pid" || status=1
fi
exit $status
