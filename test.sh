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
  # Tests that need no KVM run here, beside the nested VM that runs the KVM tests (trait Requires=kvm).
  echo "test.sh: this host has no /dev/kvm; KVM tests run in a nested KVM VM (scripts/nested-kvm.sh), the rest here"
  export EMBER_KVM_WHERE="the nested test VM's /dev/kvm (kvm_amd on QEMU's emulated AMD-V)"
  rm -rf "$results" && mkdir -p "$results"
  scripts/run-tests.sh "$results/host" -trait- Requires=kvm "${runner_args[@]}" > "$results/host.out" 2>&1 &
  host_tests=$!
  scripts/nested-kvm.sh --timeout 2700 --copy-out "$results/kvm" -- scripts/run-tests.sh "$results/kvm" -trait Requires=kvm "${runner_args[@]}" || status=1
  wait "$host_tests" || status=1
  echo "-- tests without KVM, on this host:"; cat "$results/host.out"
  [ -d "$results/kvm" ] || { echo "test.sh: no test results came back from the nested VM" >&2; exit 1; }
fi
python3 scripts/summarize-tests.py $(find "$results" -name "*.xml") || status=1
exit $status
