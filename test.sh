#!/usr/bin/env bash
# Runs every Ember test: installs what the tests need, builds with warnings as errors, runs each test
# project, and prints one summary. KVM tests use the real /dev/kvm; on a host without one (a cloud VM
# that is itself a guest) the test projects run inside a QEMU VM whose emulated AMD CPU has SVM, so KVM
# tests still run on a real /dev/kvm there (scripts/nested-kvm.sh). EMBER_NESTED_KVM=never skips that.
# `./test.sh --quick` leaves out the slow set (tests with the trait Speed=slow: the Linux boot through the
# kernel's own bzImage decompressor); CI runs everything.
set -euo pipefail
cd "$(dirname "$0")"
results=artifacts/test-results
runner_args=()
case "${1:-}" in
  --quick) runner_args=(-trait- Speed=slow) ;;
  "") ;;
  *) echo "usage: ./test.sh [--quick]" >&2; exit 2 ;;
esac
if [ -e /dev/kvm ] || [ "${EMBER_NESTED_KVM:-auto}" = never ]; then
  scripts/install-deps.sh test
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  scripts/run-tests.sh "$results" "${runner_args[@]}" || status=1
else
  scripts/install-deps.sh test nested
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  echo "test.sh: this host has no /dev/kvm; running the tests in a nested KVM VM (scripts/nested-kvm.sh)"
  export EMBER_KVM_WHERE="the nested test VM's /dev/kvm (kvm_amd on QEMU's emulated AMD-V)"
  scripts/nested-kvm.sh --copy-out "$results" -- scripts/run-tests.sh "$results" "${runner_args[@]}" || status=1
  [ -d "$results" ] || { echo "test.sh: no test results came back from the nested VM" >&2; exit 1; }
fi
python3 scripts/summarize-tests.py "$results"/*.xml || status=1
exit $status
