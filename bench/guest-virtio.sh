#!/usr/bin/env bash
# virtio-blk requests/s and virtio-net echo round trips/s from Ember's assembled test guests, in each irqchip
# mode, with exits to user space per request (bench/Ember.Bench.GuestVirtio; bench/README.md, "Guest-driven virtio").
# Builds the program, then runs it on /dev/kvm, or, on a host without /dev/kvm, inside scripts/nested-kvm.sh's VM
# (with the tun module loaded there for the TAP). Arguments go to the program:
#   bench/guest-virtio.sh [--modes split,kernel,userspace] [--rounds 3] [--seconds 3] [--only blk|net] [--net-count N] ...
# Needs root for the TAP and its network namespace (the net part is skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src tests bench || commit="$commit+changes"
dotnet build bench/Ember.Bench.GuestVirtio -c Release -nologo -v quiet
exe=bench/Ember.Bench.GuestVirtio/bin/Release/net10.0/Ember.Bench.GuestVirtio
echo "# host: $(uname -r), $(nproc) cores, loadavg before: $(cat /proc/loadavg)"
status=0
if [ -e /dev/kvm ]; then
  "$exe" --commit "$commit" "$@" || status=$?
else
  scripts/nested-kvm.sh -- bash -c 'modprobe tun 2>/dev/null || true; exec "$0" "$@"' "$exe" --commit "$commit" "$@" || status=$?
fi
echo "# host loadavg after: $(cat /proc/loadavg)"
exit "$status"
