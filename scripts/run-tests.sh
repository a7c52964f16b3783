#!/usr/bin/env bash
# Runs every built test project (tests/*.Tests, Release) and writes one xUnit XML and log per project
# into RESULTS_DIR. Used by test.sh directly on a host with /dev/kvm, and inside scripts/nested-kvm.sh
# on a host without one. Usage: scripts/run-tests.sh RESULTS_DIR [extra xunit runner arguments...]
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1; shift
rm -rf "$results" && mkdir -p "$results"
status=0
for project in tests/*.Tests; do
  name=$(basename "$project")
  echo "== $name"
  "$project/bin/Release/net10.0/$name" -noColor -result-xml "$results/$name.xml" "$@" > "$results/$name.log" 2>&1 || status=1
  grep -E "^\s+(\[FAIL\]|Assert|Expected|Actual)|Total:" "$results/$name.log" | head -40 || true
done
exit $status
