#!/usr/bin/env python3
"""Exit cost in each irqchip mode: ns per guest exit (and exits per second) for the pio, mmio and
pioevent (ioeventfd) images, 5 runs each, median. Run from the repository root after bench/run.sh has
built the guests and the AOT binary: python3 bench/exits_per_irqchip.py"""
import subprocess, time, statistics, sys
res = {}
for mode in ["kernel", "split", "userspace"]:
    for img in ["pio", "mmio", "pioevent"]:
        xs = []
        for _ in range(5):
            p = subprocess.Popen(["artifacts/ember-aot/ember", "run", "--kernel", f"bench/out/guests/exits-{img}.elf", "--irqchip", mode, "--debug-exit", "--test-devices", "--memory", "64M"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            b = e = None
            for raw in p.stdout:
                now = time.monotonic()
                if b"LOOP-BEGIN" in raw: b = now
                if b"LOOP-END" in raw: e = now
            p.wait()
            xs.append((e - b) / 50000 * 1e9)
        res[(mode, img)] = statistics.median(xs)
for (mode, img), ns in res.items():
    print(f"{mode:10s} {img:9s} {ns:7.0f} ns/exit  {1e9/ns/1000:6.1f} k/s")
