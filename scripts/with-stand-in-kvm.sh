#!/usr/bin/env bash
# Runs "$@" in a private mount namespace whose /dev has a stand-in /dev/kvm (the null device): ember's
# start-up check only opens it. For timing the API start on a host without KVM; nothing else sees it.
exec unshare -m --propagation private bash -c '
set -e
mkdir -p /tmp/apistart-olddev /tmp/apistart-newdev
mount --bind /dev /tmp/apistart-olddev
mount -t tmpfs tmpfs /dev
cp -a /tmp/apistart-olddev/. /dev/ 2>/dev/null || true
mount --rbind /tmp/apistart-olddev/pts /dev/pts 2>/dev/null || true
mount --rbind /tmp/apistart-olddev/shm /dev/shm 2>/dev/null || true
mknod /dev/kvm c 1 3
exec "$@"' bash "$@"
