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
# A test still running after 5 minutes is reported as it happens ("[Long Running Test] ..."), so a hung
# test is named on the console, not only in the log that comes back at the end.
run_project() {
  local name=$1; shift
  "tests/$name/bin/Release/net10.0/$name" -noColor -longRunning 300 -result-xml "$results/$name.xml" "$@" 2>&1 \
    | tee "$results/$name.log" | grep --line-buffered -E "Long Running Test" | sed -u "s/^/  $name: /"
  return "${PIPESTATUS[0]}"
}
report() {
  echo "== $1"
  grep -E "^\s+(\[FAIL\]|Assert|Expected|Actual)|Total:" "$results/$1.log" | head -40 || true
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
