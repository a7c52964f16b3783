#!/usr/bin/env bash
# Installs the Debian packages Ember's build and tests use, only those missing (apt-get update runs
# once, and only when something is missing). Usage: install-deps.sh [test|run|bench] [nested]
# `nested` adds what scripts/nested-kvm.sh needs (QEMU, e2fsprogs, socat for its monitor) on a host without /dev/kvm.
set -euo pipefail
purpose=${1:-test}
packages=(gcc libc6-dev linux-libc-dev)
case "$purpose" in
  test) packages+=(acpica-tools cpio busybox-static linux-image-cloud-amd64 iproute2) ;;
  run) packages+=(busybox-static linux-image-cloud-amd64) ;;
  bench) packages+=(qemu-system-x86 time python3-matplotlib binutils) ;;
esac
if [ "${2:-}" = nested ]; then
  packages+=(qemu-system-x86 e2fsprogs linux-image-cloud-amd64 busybox-static socat)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
