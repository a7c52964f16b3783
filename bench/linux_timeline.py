#!/usr/bin/env python3
"""Linux early-boot timeline: seconds from process start to the kernel's "Linux version" and
"Memory:" lines, for Ember (PVH fast path and the bzImage path) and QEMU (PVH and bzImage), with
the same kernel, command line, 2 vCPUs and 256 MiB. Each process is stopped once "Memory:" appears.
Usage: linux_timeline.py EMBER_BINARY BZIMAGE VMLINUX [runs]"""
import subprocess, sys, time, statistics

ember, bzimage, vmlinux = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
cmdline = "console=ttyS0 earlyprintk=ttyS0 noxsave"
qemu = ["qemu-system-x86_64", "-enable-kvm", "-cpu", "host,-arch-capabilities,-cx16,-xsave", "-M", "pc", "-nodefaults",
        "-m", "256", "-smp", "2", "-serial", "stdio", "-display", "none", "-no-reboot", "-append", cmdline]
peers = {
    "ember pvh (decompressed bzImage)": [ember, "run", "--kernel", bzimage, "--cmdline", cmdline, "--cpus", "2", "--cpuid-mask", "cx16,xsave"],
    "ember bzImage": [ember, "run", "--kernel", bzimage, "--cmdline", cmdline, "--cpus", "2", "--cpuid-mask", "cx16,xsave", "--no-decompress"],
    "qemu pvh (vmlinux)": qemu + ["-kernel", vmlinux],
    "qemu bzImage": qemu + ["-kernel", bzimage],
}

def one(argv):
    start = time.monotonic()
    marks = {}
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        for raw in p.stdout:
            line = raw.decode("latin-1")
            now = time.monotonic() - start
            if "Linux version" in line and "version" not in marks:
                marks["version"] = now
            if "Memory:" in line and "memory" not in marks:
                marks["memory"] = now
                break
            if now > 400:
                break
    finally:
        p.kill()
        p.wait()
    return marks

results = {name: [] for name in peers}
for _ in range(runs):
    for name, argv in peers.items():   # interleaved: A B C D A B C D
        results[name].append(one(argv))

print("| VMM / path | `Linux version` (s) | `Memory:` (s) |")
print("|---|---|---|")
for name, marks in results.items():
    v = [m["version"] for m in marks if "version" in m]
    mem = [m["memory"] for m in marks if "memory" in m]
    fmt = lambda xs: f"{statistics.median(xs):.1f}" if xs else "n/a"
    print(f"| {name} | {fmt(v)} | {fmt(mem)} |")
