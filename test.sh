#!/usr/bin/env bash
# Runs every Ember test: installs what the tests need, builds with warnings as errors, runs each test
# project, and prints one summary. KVM tests use the real /dev/kvm; on a host without one (a cloud VM
# that is itself a guest) the test projects run inside a QEMU VM whose emulated AMD CPU has SVM, so KVM
# tests still run on a real /dev/kvm there (scripts/nested-kvm.sh). EMBER_NESTED_KVM=never skips that;
# EMBER_NESTED_KVM=always takes that path even where /dev/kvm exists (to try what CI's machines do).
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
# The library as NuGet packages (from the build just made), checked for their docs and dependencies.
pack_library() {
  rm -rf artifacts/packages
  dotnet pack Ember.sln -c Release --no-build -nologo -v quiet -o artifacts/packages && scripts/check-packages.py artifacts/packages
}
# The Native AOT ember users run (README, run.sh): the process tests drive it as well as the framework build.
publish_native() {
  mkdir -p artifacts
  dotnet publish src/Ember.Cli -c Release -r linux-x64 -o artifacts/ember-aot -nologo -v quiet > artifacts/publish.log 2>&1 \
    || { echo "test.sh: the Native AOT publish failed (artifacts/publish.log)" >&2; cat artifacts/publish.log >&2; return 1; }
}
nested=${EMBER_NESTED_KVM:-auto}
if [ "$nested" != always ] && { [ -e /dev/kvm ] || [ "$nested" = never ]; }; then
  scripts/install-deps.sh test
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  pack_library || status=1
  publish_native || status=1
  scripts/run-tests.sh "$results" "${runner_args[@]}" || status=1
else
  scripts/install-deps.sh test nested
  dotnet build Ember.sln -c Release -nologo -v quiet
  status=0
  pack_library || status=1
  publish_native || status=1
  # Tests that need no KVM run here, beside the nested VM that runs the KVM tests (trait Requires=kvm).
  if [ -e /dev/kvm ]; then why="EMBER_NESTED_KVM=always"; else why="this host has no /dev/kvm"; fi
  echo "test.sh: $why; KVM tests run in a nested KVM VM (scripts/nested-kvm.sh), the rest here"
  export EMBER_KVM_WHERE="the nested test VM's /dev/kvm (kvm_amd on QEMU's emulated AMD-V)"
  rm -rf "$results" && mkdir -p "$results"
  scripts/run-tests.sh "$results/host" -trait- Requires=kvm "${runner_args[@]}" > "$results/host.out" 2>&1 &
  host_tests=$!
  # The nested VM can freeze for good (docs/host-quirks.md, "A frozen L1"): nested-kvm.sh then ends it
  # (status 75) and the next try boots a new VM on the same disk, where run-tests.sh goes on after the
  # units that finished; the Linux boot classes are units of their own there, so a freeze costs little.
  deadline=$((SECONDS + 3000)) try=1 nested_status=75
  while [ "$nested_status" = 75 ] && [ "$try" -le 4 ] && [ "$SECONDS" -lt "$deadline" ]; do
    reuse=() resume=0
    if [ "$try" -gt 1 ]; then
      reuse=(--reuse-disk) resume=1
      echo "test.sh: the nested VM froze; try $try goes on after the finished units"
    fi
    nested_status=0
    scripts/nested-kvm.sh --timeout $((deadline - SECONDS)) --stall 360 "${reuse[@]}" --copy-out "$results/kvm" -- \
      env EMBER_TEST_UNITS=split EMBER_TEST_RESUME=$resume scripts/run-tests.sh "$results/kvm" -trait Requires=kvm "${runner_args[@]}" \
      || nested_status=$?
    try=$((try + 1))
  done
  [ "$nested_status" = 0 ] || status=1
  wait "$host_tests" || status=1
  echo "-- tests without KVM, on this host:"; cat "$results/host.out"
  [ -d "$results/kvm" ] || { echo "test.sh: no test results came back from the nested VM" >&2; exit 1; }
fi
python3 scripts/summarize-tests.py $(find "$results" -name "*.xml") || status=1
exit $status
