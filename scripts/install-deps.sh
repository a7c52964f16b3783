#!/usr/bin/env bash
# Installs the Debian packages Ember's build and tests use, only those missing (apt-get update runs
# once, and only when something is missing). Usage: install-deps.sh [test|run|bench] [nested]
# `nested` adds what scripts/nested-kvm.sh needs (QEMU, e2fsprogs, socat for its monitor) on a host without /dev/kvm.
set -euo pipefail
purpose=${1:-test}
packages=(gcc libc6-dev linux-libc-dev)
case "$purpose" in
  test) packages+=(acpica-tools cpio busybox-static linux-image-cloud-amd64 iproute2 curl gdb strace) ;;
  run) packages+=(busybox-static linux-image-cloud-amd64) ;;
  bench) packages+=(qemu-system-x86 time python3-matplotlib binutils) ;;
esac
nested_qemu=0
if [ "${2:-}" = nested ]; then
  packages+=(e2fsprogs linux-image-cloud-amd64 busybox-static socat curl)
  # The nested test VM wants QEMU 10 (bookworm-backports) where Debian 12's own is 7.2: with 7.2's emulated
  # AMD-V the nested VM froze in 2 of 3 CI-like runs (docs/host-quirks.md, "A frozen L1").
  installed=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
  if [ -z "$installed" ] || dpkg --compare-versions "$installed" lt 1:10; then nested_qemu=1; fi
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
if [ "$nested_qemu" = 1 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release; then
    echo "Installing: qemu-system-x86 from bookworm-backports"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/ember-backports.list >/dev/null
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
  elif [ -z "$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)" ]; then
    echo "Installing: qemu-system-x86"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
  fi
fi
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
