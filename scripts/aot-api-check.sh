#!/usr/bin/env bash
# Publishes the Native AOT ember and drives it the way Firecracker's getting-started guide drives firecracker:
# curl over the API socket, then the same machine from a --config-file with --no-api. The guest is a small
# multiboot kernel (built by the test guests' assembler) that prints a line and resets, so this finishes in
# seconds on any KVM. Usage: scripts/aot-api-check.sh  (prints a transcript; exits non-zero on any mismatch)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Ember.Cli -c Release -r linux-x64 -o artifacts/ember-aot -nologo -v quiet >/dev/null
ember=$PWD/artifacts/ember-aot/ember
work=$(mktemp -d /tmp/ember-aot-api.XXXXXX)
trap 'rm -rf "$work"' EXIT
dotnet run -c Release --project bench/Ember.Bench.Api -- --write-guest "$work/guest.elf" >/dev/null
sock=$work/firecracker.socket
"$ember" --api-sock "$sock" --id aot-check >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
call() { echo "\$ curl --unix-socket $sock -X $1 http://localhost$2 ${3:+-d '$3'}"; curl -sS --unix-socket "$sock" -X "$1" "http://localhost$2" ${3:+-d "$3"} -w ' -> %{http_code}\n'; }
call GET /
call PUT /boot-source "{\"kernel_image_path\": \"$work/guest.elf\", \"boot_args\": \"console=ttyS0 reboot=k panic=1\"}"
call PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
call PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "bogus": 1}'
call PUT /actions '{"action_type": "InstanceStart"}'
status=0; wait "$pid" || status=$?
echo "ember exited with $status; its stdout: $(cat "$work/stdout")"
[ "$status" = 4 ] && grep -q 'hello from the guest' "$work/stdout"
cat >"$work/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$work/guest.elf" }, "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 } }
JSON
echo "\$ ember --config-file vm.json --no-api"
status=0; "$ember" --config-file "$work/vm.json" --no-api >"$work/stdout2" || status=$?
echo "ember exited with $status; its stdout: $(cat "$work/stdout2")"
[ "$status" = 4 ] && grep -q 'hello from the guest' "$work/stdout2"
echo "AOT binary: $(stat -c %s "$ember") bytes"
