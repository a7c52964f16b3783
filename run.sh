#!/usr/bin/env bash
# Builds Ember and runs its main job on this machine. Until Linux boot lands this is `ember doctor`:
# the report of what this host's KVM can do for Ember.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh run
dotnet build src/Ember.Cli -c Release -nologo -v quiet
exec src/Ember.Cli/bin/Release/net10.0/ember doctor "$@"
