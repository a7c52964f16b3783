#!/usr/bin/env bash
# Runs a command against this machine's files inside a QEMU virtual machine that has KVM, for hosts
# without /dev/kvm (e.g. a cloud VM that is itself a kvm_pvm guest). QEMU's TCG emulates an AMD CPU
# with SVM, and Debian's cloud kernel inside it loads kvm_amd, so the command sees a real /dev/kvm
# (KVM on emulated AMD-V with nested paging: the hardware-KVM code paths, at emulation speed).
#
# Usage: scripts/nested-kvm.sh [--memory 6G] [--cpus N] [--copy-out DIR] [--timeout SECONDS]
#                              [--stall SECONDS] [--reuse-disk] -- COMMAND...
# The command runs as root in a chroot of a copy of /usr, /etc, /boot and the repository (same paths),
# with /tmp and $HOME writable; its exit status becomes this script's. Files it writes stay in the
# VM's disk image (artifacts/nested-kvm/rootfs.ext4) except what it prints and the directory
# --copy-out names (a path under the repository), copied back to the same place once the VM is off.
# --stall: when the command's test output (trace lines starting with '[') has not grown for that long,
# the VM is taken to be frozen (docs/host-quirks.md, "A frozen L1"), QEMU is ended and the script exits
# with status 75; --reuse-disk then boots a new VM on the same disk, so a command that keeps its state
# there (scripts/run-tests.sh with EMBER_TEST_RESUME=1) goes on where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
memory=6G
# One CPU by default: with two, an L1 CPU sometimes never answered an IPI while the other ran an L2
# guest (soft lockups of Ember's PIT thread in the kick path), seen once in three runs here.
cpus=1
copy_out=""
timeout_seconds=3600
stall_seconds=0
reuse_disk=0
while [ $# -gt 0 ]; do
  case "$1" in
    --memory) memory=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --timeout) timeout_seconds=$2; shift 2 ;;
    --copy-out) copy_out=$(realpath -m "$2"); shift 2 ;;
    --stall) stall_seconds=$2; shift 2 ;;
    --reuse-disk) reuse_disk=1; shift ;;
    --) shift; break ;;
    *) echo "nested-kvm: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: scripts/nested-kvm.sh [--memory 6G] [--cpus N] -- COMMAND..." >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "nested-kvm: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || { echo "nested-kvm: Debian's cloud kernel is missing (apt-get install linux-image-cloud-amd64)" >&2; exit 2; }
release=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$release/kernel

work=$repo/artifacts/nested-kvm
if [ "$reuse_disk" = 1 ] && [ -f "$work/rootfs.ext4" ]; then
  find "$work" -mindepth 1 -maxdepth 1 ! -name rootfs.ext4 -exec rm -rf {} +
else
  reuse_disk=0
  rm -rf "$work"
fi
mkdir -p "$work/initramfs"/{bin,dev,proc,sys,mod,newroot}

# The initramfs: busybox, the KVM, virtio-blk and TUN modules (in dependency order; tun gives the TAP tests
# /dev/net/tun), and an init that mounts the disk, runs the command in a chroot and reports its status on the console.
cp /bin/busybox "$work/initramfs/bin/"
order="virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd drivers/virtio/virtio_ring drivers/virtio/virtio
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk drivers/net/tun"
names=""
for m in $order; do
  cp "$modules/$m.ko" "$work/initramfs/mod/"
  names="$names $(basename "$m")"
done
printf '%s\n' "$@" > "$work/initramfs/command.args"
cat > "$work/initramfs/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# The loopback interface starts down; tests listen on 127.0.0.1 (the gdb stub's TCP endpoint, for one).
ip link set lo up || echo "nested-kvm: cannot bring up lo (loopback tests will fail)"
for m in $names; do insmod /mod/\$m.ko || echo "nested-kvm: insmod \$m failed"; done
mount -t ext4 /dev/vda /newroot || { echo "nested-kvm: cannot mount the disk"; poweroff -f; }
mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys; mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts; mount -t devpts -o ptmxmode=0666 devpts /newroot/dev/pts || echo "nested-kvm: no devpts (pty tests will fail)"
mount -t tmpfs tmp /newroot/tmp; mount -t tmpfs run /newroot/run
# The second serial port carries every kernel message (whatever the console's loglevel) and each test
# project's live log, so a VM that freezes still leaves a record on the host (artifacts/nested-kvm/trace.log).
cat /proc/kmsg > /dev/ttyS1 &
cp /command.args /newroot/tmp/command.args
chroot /newroot /bin/bash -c 'cd "$repo"; export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 EMBER_NESTED_KVM=1 EMBER_TEST_TRACE=/dev/ttyS1; mapfile -t argv < /tmp/command.args; "\${argv[@]}"; echo "nested-kvm: exit status \$?"' < /dev/console
sync; poweroff -f
INIT
chmod +x "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initramfs.gz")

# The disk: hard links to this machine's files (no copying on the host side), written into an ext4 image.
if [ "$reuse_disk" = 0 ]; then
  stage=$work/stage
  mkdir -p "$stage"/{proc,sys,dev,tmp,run,root,var/tmp,"$(dirname "$repo")"}
  for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "$(readlink "/$d")" "$stage/$d"; done
  mkdir -p "$stage/usr/lib" "$stage/usr/share"
  for d in /usr/*; do
    case "$d" in /usr/lib|/usr/share) ;; *) cp -al "$d" "$stage/usr/" ;; esac
  done
  for d in /usr/lib/*; do
    case "$d" in /usr/lib/google-cloud-sdk|/usr/lib/jvm) ;; *) cp -al "$d" "$stage/usr/lib/" ;; esac
  done
  # gdb: its data directory (the Python gdb module), without which every gdb the tests start warns.
  for d in dotnet busybox perl perl5 misc zoneinfo ca-certificates gdb; do [ -e "/usr/share/$d" ] && cp -al "/usr/share/$d" "$stage/usr/share/"; done
  cp -a /etc "$stage/"; cp -al /boot "$stage/"
  [ -d /root/.cache/ember ] && mkdir -p "$stage/root/.cache" && cp -al /root/.cache/ember "$stage/root/.cache/"
  (cd "$repo" && find . -path ./artifacts -prune -o -path ./.git -prune -o -print0 | cpio -0 -pdlm "$stage$repo" 2>/dev/null)
  mkdir -p "$stage$repo/artifacts"
  # The Native AOT ember that run.sh publishes, the one build output kept under artifacts/.
  [ -d "$repo/artifacts/ember-aot" ] && cp -al "$repo/artifacts/ember-aot" "$stage$repo/artifacts/"
  size_mb=$(( $(du -sm "$stage" | cut -f1) + 3072 ))
  mke2fs -q -t ext4 -d "$stage" -L nested-kvm "$work/rootfs.ext4" "${size_mb}M"
  rm -rf "$stage"
fi

# The emulated AMD-V of QEMU's TCG has been seen to leave its CPU inside an L2 guest for good although an
# L1 interrupt was pending (docs/host-quirks.md, "A frozen L1"); an NMI through the monitor did not bring
# it back (40 of them in one CI run). So a VM whose test output has stopped for --stall seconds is ended
# through QEMU's monitor, and the caller may start another on the same disk.
monitor=$work/monitor.sock
rm -f "$monitor" "$work/stalled"
end_stalled_vm() {
  local last=-1 quiet=0 lines
  while sleep 10; do
    lines=$(grep -c '^\[' "$work/trace.log" 2>/dev/null || true)
    if [ "$lines" != "$last" ]; then last=$lines; quiet=0; continue; fi
    quiet=$((quiet + 10))
    if [ "$quiet" -ge "$stall_seconds" ] && [ -S "$monitor" ]; then
      echo "$(date -u +%T) no test output for $quiet s" > "$work/stalled"
      echo quit | socat - UNIX-CONNECT:"$monitor" >/dev/null 2>&1
      return
    fi
  done
}
watchdog=""
if [ "$stall_seconds" -gt 0 ]; then
  end_stalled_vm &
  watchdog=$!
fi
trap '[ -z "$watchdog" ] || kill $watchdog 2>/dev/null || true' EXIT

log=$work/console.log
echo "nested-kvm: booting a QEMU (TCG) VM with KVM on emulated AMD-V to run: $*" >&2
timeout --foreground "$timeout_seconds" qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu EPYC,+svm -smp "$cpus" -m "$memory" \
  -nodefaults -vga none -display none -serial stdio -serial file:"$work/trace.log" -monitor unix:"$monitor",server,nowait -no-reboot -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off" \
  -drive file="$work/rootfs.ext4",format=raw,if=virtio,cache=unsafe 2>&1 \
  | grep --line-buffered -v "TCG doesn't support requested feature" | tee "$log" | grep --line-buffered -v '^nested-kvm: exit status' || true
[ -z "$watchdog" ] || kill $watchdog 2>/dev/null || true
if [ -e "$work/stalled" ]; then
  echo "nested-kvm: the VM froze ($(cat "$work/stalled")) and was ended; the end of its trace ($work/trace.log):" >&2
  tail -n 6 "$work/trace.log" >&2 || true
  # What the frozen kernel had written but not checkpointed is in the disk's journal.
  e2fsck -fy -E journal_only "$work/rootfs.ext4" >/dev/null 2>&1 || true
fi
if [ -n "$copy_out" ]; then
  rm -rf "$copy_out" && mkdir -p "$(dirname "$copy_out")"
  debugfs -R "rdump $copy_out $(dirname "$copy_out")" "$work/rootfs.ext4" >/dev/null 2>&1 \
    || echo "nested-kvm: could not copy $copy_out out of the VM's disk" >&2
fi
status=$(sed -n 's/^nested-kvm: exit status \([0-9]*\).*/\1/p' "$log" | tail -n 1)
[ -e "$work/stalled" ] && [ -z "$status" ] && exit 75
if [ -z "$status" ]; then
  echo "nested-kvm: the VM ended without reporting a status (see $log); the end of its trace ($work/trace.log):" >&2
  tail -n 15 "$work/trace.log" >&2 || true
  exit 125
fi
exit "$status"
