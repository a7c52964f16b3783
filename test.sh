#!/usr/bin/env bash
# Runs every Ember test: installs what the tests need, builds with warnings as errors, runs each test
# project, and prints one summary. KVM tests use the real /dev/kvm; on a host without one (a cloud VM
# that is itself a guest) the test projects run inside a QEMU VM whose emulated AMD CPU has SVM, so KVM
# tests still run on a real /dev/kvm there (scripts/nested-kvm.sh). EMBER_NESTED_KVM=never skips that.
set -euo pipefail
cd "$(dirname "$0")"
results=artifacts/test-results
if [ -e /dev/kvm ] || [ "${EMBER_NESTED_KVM:-auto}" = never ]; then
  scripts/install-deps.sh test
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  scripts/run-tests.sh "$results" || status=1
else
  scripts/install-deps.sh test nested
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  echo "test.sh: this host has no /dev/kvm; running the tests in a nested KVM VM (scripts/nested-kvm.sh)"
  scripts/nested-kvm.sh --copy-out "$results" -- scripts/run-tests.sh "$results" || status=1
  [ -d "$results" ] || { echo "test.sh: no test results came back from the nested VM" >&2; exit 1; }
fi
python3 scripts/summarize-tests.py "$results"/*.xml || status=1
exit $status
