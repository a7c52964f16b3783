#!/usr/bin/env bash
# Builds Ember (Native AOT) and boots its default guest: Debian's cloud kernel with an initramfs Ember
# builds itself (busybox + virtio modules), console on this terminal (Ctrl-A X quits).
# Arguments go to `ember run`, e.g. ./run.sh -- uname -a   (run a command in the guest, then power off)
# On a host without /dev/kvm (a cloud VM that is itself a KVM guest) Ember runs inside the nested test VM
# (scripts/nested-kvm.sh: QEMU with an emulated AMD-V CPU and kvm_amd), so the main job still runs.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh run
mkdir -p artifacts
ember=artifacts/ember-aot/ember
if ! dotnet publish src/Ember.Cli -c Release -r linux-x64 -o artifacts/ember-aot -nologo -v quiet >/dev/null 2>artifacts/publish.log; then
  echo "run.sh: Native AOT publish failed (see artifacts/publish.log); using the framework-dependent build" >&2
  dotnet build src/Ember.Cli -c Release -nologo -v quiet
  ember=src/Ember.Cli/bin/Release/net10.0/ember
fi
if [ ! -e /dev/kvm ]; then
  scripts/install-deps.sh run nested
  echo "run.sh: this host has no /dev/kvm; running Ember in a nested KVM VM (scripts/nested-kvm.sh)" >&2
  exec scripts/nested-kvm.sh --memory 2G -- bash -c "\"\$0\" doctor | sed -n '1,4p'; exec \"\$0\" run --cpus 2 \"\$@\"" "$ember" "$@"
fi
"$ember" doctor | sed -n '1,4p'
exec "$ember" run --cpus 2 "$@"
