#!/usr/bin/env bash
# Builds Ember (Native AOT) and boots its default guest: Debian's cloud kernel with an initramfs Ember
# builds itself (busybox + virtio modules), console on this terminal (Ctrl-A X quits).
# Arguments go to `ember run`, e.g. ./run.sh -- uname -a   (run a command in the guest, then power off)
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
"$ember" doctor | sed -n '1,4p'
exec "$ember" run --cpus 2 "$@"
