#!/usr/bin/env bash
# Runs every Ember test: installs what the tests need, builds with warnings as errors, runs each test
# project on this machine (KVM tests use the real /dev/kvm), and prints one summary.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh test
dotnet build Ember.sln -c Release -nologo -v quiet
results=artifacts/test-results
rm -rf "$results" && mkdir -p "$results"
status=0
for project in tests/*.Tests; do
  name=$(basename "$project")
  echo "== $name"
  "$project/bin/Release/net10.0/$name" -noColor -result-xml "$results/$name.xml" > "$results/$name.log" 2>&1 || status=1
  grep -E "^\s+(\[FAIL\]|Assert|Expected|Actual)|Total:" "$results/$name.log" | head -40 || true
done
python3 scripts/summarize-tests.py "$results"/*.xml || status=1
exit $status
