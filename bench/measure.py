#!/usr/bin/env python3
"""Runs Ember, QEMU and the raw-KVM exit loop side by side and writes BENCHMARKS.md.

Standard library only; PNG charts are drawn when matplotlib can be imported, and skipped otherwise.

Two sections:
  null path  `null.elf` boots, prints EMBER-BENCH-READY on COM1 and writes 0 to port 0xF4. Measured:
             wall time from spawn to exit, time to the READY line, peak RSS (/usr/bin/time -v).
  exit path  `exits-MODE.elf` runs N trapping accesses between two COM1 marker lines. Measured:
             (t_END_line - t_BEGIN_line) / N, timed here from the lines' arrival on the VMM's stdout,
             the same way for every VMM.

Runs are interleaved (A B C A B C ...) so drift in the machine's speed hits every configuration alike.
A configuration whose warm-up (or first) run fails is not retried; its row says
"n/a (failed: reason)". Every run must end with exit status 1, i.e. (0 << 1) | 1 from the debug exit.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import select
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_MARKER = "EMBER-BENCH-READY"
BEGIN_MARKER = "EMBER-BENCH-LOOP-BEGIN"
END_MARKER = "EMBER-BENCH-LOOP-END"
EXPECTED_STATUS = 1  # guest writes 0 to port 0xF4: status (0 << 1) | 1
TIME_BIN = "/usr/bin/time"
EXIT_MODES = ("pio", "mmio", "pioevent")
QEMU_MODES = ("pio", "mmio")  # pioevent: QEMU has no ioeventfd on a plain port (0xE4 is pc-testdev's flush port)


@dataclasses.dataclass
class Config:
    key: str
    section: str          # "null" or "exit"
    vmm: str              # "ember", "qemu" or "limit"
    label: str
    argv: list[str]
    mode: str = ""
    peer: str = ""        # key of the configuration this one is compared with


@dataclasses.dataclass
class Run:
    ok: bool
    reason: str = ""
    wall_ms: float | None = None
    ready_ms: float | None = None
    ns_per_iter: float | None = None
    rss_kb: int | None = None
    internal: dict[str, str] = dataclasses.field(default_factory=dict)


# ---------------------------------------------------------------- running one configuration once

def run_once(config: Config, timeout_s: float) -> Run:
    with tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False) as tf, \
            tempfile.TemporaryFile(prefix="bench-stderr-") as err:
        time_file = tf.name
        argv = [TIME_BIN, "-v", "-o", time_file, *config.argv]
        lines: list[tuple[int, str]] = []  # (arrival ns, text)
        t0 = time.monotonic_ns()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                    start_new_session=True)
        except OSError as e:
            os.unlink(time_file)
            return Run(False, f"cannot start: {e}")
        timed_out = read_lines(proc, lines, t0, timeout_s)
        if timed_out:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we created above: time and its VMM
        status = proc.wait()
        t_exit = time.monotonic_ns()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    rss_kb, time_note = parse_time_file(time_file)
    os.unlink(time_file)

    if timed_out:
        return Run(False, f"timed out after {timeout_s:g} s")
    # A VMM that rejects its arguments may exit with 1 as well, so the markers decide, and a failure
    # quotes the VMM's own first words on stderr.
    said = first_meaningful_line(stderr + time_note) or "nothing on stderr"
    if status != EXPECTED_STATUS:
        return Run(False, f"exit status {status}; stderr: {said}")
    run = Run(True, wall_ms=(t_exit - t0) / 1e6, rss_kb=rss_kb)
    ready = next((t for t, s in lines if READY_MARKER in s), None)
    if config.section == "null":
        if ready is None:
            return Run(False, f"no {READY_MARKER} line on stdout; stderr: {said}")
        run.ready_ms = (ready - t0) / 1e6
    else:
        begin = next(((t, s) for t, s in lines if BEGIN_MARKER in s), None)
        end = next((t for t, s in lines if END_MARKER in s), None)
        if begin is None or end is None:
            return Run(False, f"no loop marker lines on stdout; stderr: {said}")
        n = parse_n(begin[1])
        if not n:
            return Run(False, f"no iteration count in {begin[1]!r}")
        run.ns_per_iter = (end - begin[0]) / n
    if config.vmm == "limit":
        run.internal = parse_exit_loop_summary(stderr)
    return run


def read_lines(proc: subprocess.Popen, lines: list[tuple[int, str]], t0: int, timeout_s: float) -> bool:
    """Reads stdout until EOF, timestamping each completed line. Returns True on timeout."""
    fd = proc.stdout.fileno()
    deadline = t0 + int(timeout_s * 1e9)
    pending = b""
    while True:
        left = (deadline - time.monotonic_ns()) / 1e9
        if left <= 0:
            return True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic_ns()
        if not chunk:
            proc.stdout.close()
            return False
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            lines.append((now, line.decode(errors="replace")))


def parse_time_file(path: str) -> tuple[int | None, str]:
    rss, note = None, ""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None, ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size (kbytes):"):
            rss = int(line.rsplit(":", 1)[1])
        elif line.startswith("Command terminated by signal") or line.startswith("Command exited"):
            note = "\n" + line
    return rss, note


def first_meaningful_line(text: str) -> str:
    """The first two non-empty lines of stderr, joined, capped (enough to name the failure)."""
    lines = [l.strip() for l in text.strip().splitlines()
             if l.strip() and not l.strip().startswith("Command exited with non-zero status")]
    return " / ".join(lines[:2])[:200]


def parse_n(line: str) -> int | None:
    for token in line.split():
        if token.startswith("n=") and token[2:].isdigit():
            return int(token[2:])
    return None


def parse_exit_loop_summary(stderr: str) -> dict[str, str]:
    for line in stderr.splitlines():
        if line.startswith("exit_loop: setup_ns="):
            return dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
    return {}


# ---------------------------------------------------------------- the configurations

def build_configs(a: argparse.Namespace) -> list[Config]:
    g = Path(a.guests)
    qemu_common = [a.qemu, "-enable-kvm", "-m", "64M", "-smp", "1", "-nodefaults", "-no-user-config",
                   "-display", "none", "-no-reboot", "-serial", "stdio",
                   "-device", "isa-debug-exit,iobase=0xf4,iosize=4", *a.qemu_arg]
    qemu_cpu = "host,-arch-capabilities"          # plain `-cpu host` aborts on this host's KVM
    qemu_cpu_userspace = qemu_cpu + ",kvm=off"    # kernel_irqchip=off: QEMU fails MSR_KVM_POLL_CONTROL otherwise

    def ember(image: str, irqchip: str) -> list[str]:
        return [a.ember, "run", "--kernel", str(g / image), "--irqchip", irqchip, "--console", "stdio",
                "--debug-exit", "--test-devices", "--memory", "64M", "--cpus", "1", *a.ember_arg]

    def qemu(machine: str, cpu: str, image: str, *extra: str) -> list[str]:
        return [*qemu_common, "-M", machine, "-cpu", cpu, *extra, "-kernel", str(g / image)]

    def limit(image: str, *extra: str) -> list[str]:
        return [a.exit_loop, "--memory", "64", *extra, str(g / image)]

    m = a.qemu_machine
    configs = [
        Config("ember-null-kernel", "null", "ember", "Ember --irqchip kernel", ember("null.elf", "kernel"),
               peer="qemu-null-on"),
        Config("ember-null-split", "null", "ember", "Ember --irqchip split", ember("null.elf", "split"),
               peer="qemu-null-split"),
        Config("ember-null-userspace", "null", "ember", "Ember --irqchip userspace", ember("null.elf", "userspace"),
               peer="qemu-null-off"),
        Config("qemu-null-on", "null", "qemu", f"QEMU {m},kernel_irqchip=on",
               qemu(f"{m},kernel_irqchip=on", qemu_cpu, "null.elf")),
        Config("qemu-null-split", "null", "qemu", f"QEMU {m},kernel_irqchip=split",
               qemu(f"{m},kernel_irqchip=split", qemu_cpu, "null.elf")),
        Config("qemu-null-off", "null", "qemu", f"QEMU {m},kernel_irqchip=off (-cpu ...,kvm=off)",
               qemu(f"{m},kernel_irqchip=off", qemu_cpu_userspace, "null.elf")),
    ]
    if a.qemu_pc and m != "pc":
        configs += [
            Config("qemu-null-pc-on", "null", "qemu", "QEMU pc,kernel_irqchip=on (SeaBIOS)",
                   qemu("pc,kernel_irqchip=on", qemu_cpu, "null.elf")),
            Config("qemu-null-pc-split", "null", "qemu", "QEMU pc,kernel_irqchip=split (SeaBIOS)",
                   qemu("pc,kernel_irqchip=split", qemu_cpu, "null.elf")),
        ]
    configs.append(Config("limit-null", "null", "limit", "raw KVM (exit_loop, in-kernel irqchip)",
                          limit("null.elf")))

    for mode in EXIT_MODES:
        image = f"exits-{mode}.elf"
        configs.append(Config(f"ember-exit-{mode}", "exit", "ember", f"Ember {mode}", ember(image, "kernel"),
                              mode=mode, peer=f"qemu-exit-{mode}" if mode in QEMU_MODES else ""))
        if mode in QEMU_MODES:
            configs.append(Config(f"qemu-exit-{mode}", "exit", "qemu", f"QEMU {mode}",
                                  qemu(f"{m},kernel_irqchip=on", qemu_cpu, image, "-device", "pc-testdev"),
                                  mode=mode))
        extra = ("--ioeventfd",) if mode == "pioevent" else ()
        label = "raw KVM pioevent (ioeventfd)" if mode == "pioevent" else f"raw KVM {mode}"
        configs.append(Config(f"limit-exit-{mode}", "exit", "limit", label, limit(image, *extra), mode=mode))

    wanted = set(a.only.split(",")) if a.only else {"ember", "qemu", "limit"}
    return [c for c in configs if c.vmm in wanted]


# ---------------------------------------------------------------- measuring

def measure(configs: list[Config], runs: int, warmup: int, timeout_s: float, log) -> dict[str, list[Run]]:
    results: dict[str, list[Run]] = {c.key: [] for c in configs}
    failed: dict[str, Run] = {}
    for section in ("null", "exit"):
        group = [c for c in configs if c.section == section]
        for round_no in range(warmup + runs):
            for c in group:
                if c.key in failed:
                    continue
                run = run_once(c, timeout_s)
                what = "warm-up" if round_no < warmup else f"run {round_no - warmup + 1}/{runs}"
                log(f"[{section}] {c.key:24} {what:10} " + (describe(run) if run.ok else f"FAILED: {run.reason}"))
                if not run.ok:
                    failed[c.key] = run
                    results[c.key] = [run]
                elif round_no >= warmup:
                    results[c.key].append(run)
    return results


def describe(run: Run) -> str:
    parts = [f"wall {run.wall_ms:.1f} ms"]
    if run.ready_ms is not None:
        parts.append(f"ready {run.ready_ms:.1f} ms")
    if run.ns_per_iter is not None:
        parts.append(f"{run.ns_per_iter:.0f} ns/iter")
    if run.rss_kb:
        parts.append(f"rss {run.rss_kb / 1024:.1f} MiB")
    return ", ".join(parts)


@dataclasses.dataclass
class Summary:
    ok: bool
    reason: str = ""
    median: float = 0.0
    p10: float = 0.0
    p90: float = 0.0
    count: int = 0


def summarize(values: list[float]) -> Summary:
    if not values:
        return Summary(False, "no successful run")
    if len(values) == 1:
        return Summary(True, median=values[0], p10=values[0], p90=values[0], count=1)
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return Summary(True, median=statistics.median(values), p10=deciles[0], p90=deciles[8], count=len(values))


def summary_of(results: dict[str, list[Run]], key: str, field: str) -> Summary:
    runs = results.get(key, [])
    if not runs:
        return Summary(False, "not run")
    if not runs[0].ok:
        return Summary(False, runs[0].reason)
    return summarize([getattr(r, field) for r in runs if getattr(r, field) is not None])


# ---------------------------------------------------------------- the report

def na(s: Summary) -> str:
    return "n/a (failed: " + s.reason.replace("|", "\\|") + ")"


def ratio(a: Summary, b: Summary | None) -> str:
    if b is None or not a.ok or not b.ok or b.median == 0:
        return "–"
    return f"{a.median / b.median:.2f}×"


def host_facts(qemu: str) -> list[str]:
    facts = [f"kernel {platform.release()}", f"{os.cpu_count()} CPUs"]
    try:
        model = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                     if l.startswith("model name"))
        facts.append(model)
    except (OSError, StopIteration):
        pass
    kvm_modules = [m for m in ("kvm_intel", "kvm_amd", "kvm_pvm") if Path(f"/sys/module/{m}").exists()]
    facts.append("KVM module: " + (", ".join(kvm_modules) or "unknown"))
    try:
        facts.append(subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=10)
                     .stdout.splitlines()[0])
    except (OSError, IndexError, subprocess.SubprocessError):
        facts.append("QEMU: not found")
    return facts


def write_report(a: argparse.Namespace, configs: list[Config], results: dict[str, list[Run]],
                 charts: list[str], chart_note: str, elapsed_s: float) -> str:
    by_key = {c.key: c for c in configs}
    out: list[str] = []
    w = out.append
    w("# Ember benchmarks")
    w("")
    w(f"Generated by `bench/run.sh` on {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} "
      f"in {elapsed_s:.0f} s. Host: " + "; ".join(host_facts(a.qemu)) + ".")
    w(f"Ember binary: `{a.ember}` ({a.ember_kind}). Runs per configuration: {a.runs} "
      f"(after {a.warmup} warm-up), interleaved A B C A B C. Exit-path iterations per run: see `n=` in the "
      f"commands' images (built with N={a.n}).")
    w("")
    w("p10/p90 are the 10th and 90th percentiles over the runs; a ratio is this row's median over its "
      "peer's median (lower is better for Ember).")
    w("")

    w("## Null path: boot to the debug exit")
    w("")
    w("`null.elf` prints `EMBER-BENCH-READY` on COM1 and writes 0 to port 0xF4. *Wall* is spawn to process "
      "exit (through `/usr/bin/time -v`), *ready* is spawn to the READY line on stdout, *RSS* the peak "
      "resident set from `/usr/bin/time -v`.")
    w("")
    w("| configuration | wall median | p10 | p90 | ready median | peak RSS median | vs peer | peer |")
    w("|---|---|---|---|---|---|---|---|")
    for c in (c for c in configs if c.section == "null"):
        wall = summary_of(results, c.key, "wall_ms")
        peer = by_key.get(c.peer)
        if not wall.ok:
            w(f"| {c.label} | {na(wall)} | | | | | | {peer.label if peer else ''} |")
            continue
        ready = summary_of(results, c.key, "ready_ms")
        rss = summary_of(results, c.key, "rss_kb")
        peer_wall = summary_of(results, peer.key, "wall_ms") if peer else None
        w(f"| {c.label} | {wall.median:.1f} ms | {wall.p10:.1f} | {wall.p90:.1f} | {ready.median:.1f} ms | "
          f"{rss.median / 1024:.1f} MiB | {ratio(wall, peer_wall)} | {peer.label if peer else '–'} |")
    w("")

    w("## Exit path: ns per trapping access")
    w("")
    w("`exits-MODE.elf` runs N iterations of `out %eax, $0xE0` (pio), `mov %eax, 0xFF000000` (mmio) or "
      "`out %eax, $0xE4` (pioevent) between two COM1 marker lines; ns/op = (END line − BEGIN line) / N, "
      "timed from the lines' arrival on stdout, identically for every VMM. One op is one exit round trip "
      "plus `dec`/`jnz`. pioevent: the VMM should register a 4-byte ioeventfd on port 0xE4, so the write "
      "completes inside KVM; QEMU has no such port and is not run for it.")
    w("")
    w("| mode | VMM | ns/op median | p10 | p90 | vs QEMU | vs raw KVM | note |")
    w("|---|---|---|---|---|---|---|---|")
    for mode in EXIT_MODES:
        limit = summary_of(results, f"limit-exit-{mode}", "ns_per_iter") if f"limit-exit-{mode}" in by_key else None
        qemu = summary_of(results, f"qemu-exit-{mode}", "ns_per_iter") if f"qemu-exit-{mode}" in by_key else None
        for c in (c for c in configs if c.section == "exit" and c.mode == mode):
            s = summary_of(results, c.key, "ns_per_iter")
            if not s.ok:
                w(f"| {mode} | {c.label} | {na(s)} | | | | | |")
                continue
            note = ""
            if c.vmm == "limit":
                internal = [r.internal for r in results[c.key] if r.internal]
                per_exit = [float(i["ns_per_exit"]) for i in internal if "ns_per_exit" in i]
                exits = [i.get("loop_exits", "?") for i in internal]
                if per_exit:
                    note = f"in-process: {statistics.median(per_exit):.0f} ns/exit"
                elif exits:
                    note = f"user-space exits in loop: {exits[0]}"
            vs_qemu = ratio(s, qemu) if c.vmm != "qemu" else "–"
            vs_limit = ratio(s, limit) if c.vmm != "limit" else "–"
            w(f"| {mode} | {c.label} | {s.median:.0f} | {s.p10:.0f} | {s.p90:.0f} | {vs_qemu} | {vs_limit} | {note} |")
    w("")

    if charts:
        w("## Charts")
        w("")
        for path in charts:
            w(f"![{Path(path).stem}]({path})")
            w("")
    else:
        w(f"Charts: skipped ({chart_note}).")
        w("")

    w("## Exact commands")
    w("")
    w(f"Each is run as `{TIME_BIN} -v -o FILE COMMAND` with stdin from /dev/null; expected exit status 1.")
    w("")
    w("```")
    for c in configs:
        w(f"# {c.key}")
        w(shlex.join(c.argv))
    w("```")
    w("")
    w("Reproduce: `bench/run.sh` (options: `bench/run.sh --help`).")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- charts

def draw_charts(configs: list[Config], results: dict[str, list[Run]], chart_dir: Path, link_base: Path) \
        -> tuple[list[str], str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "matplotlib is not importable by " + sys.executable
    chart_dir.mkdir(parents=True, exist_ok=True)
    made = []

    colours = {"ember": "#d9822b", "qemu": "#4a78b5", "limit": "#8c8c8c"}

    def bars(items: list[tuple[str, str, Summary]], title: str, unit: str, filename: str) -> None:
        items = [(label, vmm, s) for label, vmm, s in items if s.ok]
        if not items:
            return
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(items) + 1.5))
        labels = [label for label, _, _ in items]
        med = [s.median for _, _, s in items]
        err = [[s.median - s.p10 for _, _, s in items], [s.p90 - s.median for _, _, s in items]]
        ax.barh(range(len(items)), med, xerr=err, capsize=3, color=[colours[vmm] for _, vmm, _ in items])
        ax.set_yticks(range(len(items)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(f"{unit} (median, whiskers p10–p90)")
        ax.set_title(title)
        fig.tight_layout()
        path = chart_dir / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(os.path.relpath(path, link_base))

    bars([(c.label, c.vmm, summary_of(results, c.key, "wall_ms")) for c in configs if c.section == "null"],
         "Null path: spawn to exit", "ms", "null-path.png")
    bars([(f"{c.mode}: {c.label}", c.vmm, summary_of(results, c.key, "ns_per_iter")) for c in configs
          if c.section == "exit"], "Exit path: one trapping access", "ns/op", "exit-path.png")
    return made, "" if made else "no successful run to draw"


# ---------------------------------------------------------------- main

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ember", required=True, help="the ember executable")
    p.add_argument("--ember-kind", default="unknown", help="how it was built, for the report")
    p.add_argument("--ember-arg", action="append", default=[], help="extra argument for every ember run")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--qemu-arg", action="append", default=[], help="extra argument for every QEMU run")
    p.add_argument("--qemu-machine", default="microvm", help="QEMU machine type (microvm or pc)")
    p.add_argument("--qemu-pc", action="store_true", help="also measure QEMU -M pc (SeaBIOS: seconds per boot)")
    p.add_argument("--exit-loop", required=True, help="the raw-KVM exit_loop binary")
    p.add_argument("--guests", required=True, help="directory with null.elf and exits-*.elf")
    p.add_argument("--n", type=int, default=0, help="N the exits images were built with (report only)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    p.add_argument("--only", default="", help="comma list of ember,qemu,limit")
    p.add_argument("--output", required=True, help="BENCHMARKS.md to write")
    p.add_argument("--charts", default="", help="directory for PNG charts (default: none)")
    p.add_argument("--json", default="", help="also dump every run here")
    a = p.parse_args()
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if not os.access(TIME_BIN, os.X_OK):
        p.error(f"{TIME_BIN} is missing (Debian package `time`)")

    started = time.monotonic()
    configs = build_configs(a)
    results = measure(configs, a.runs, a.warmup, a.timeout, lambda s: print(s, flush=True))
    output = Path(a.output)
    charts, note = ([], "not requested")
    if a.charts:
        charts, note = draw_charts(configs, results, Path(a.charts), output.resolve().parent)
    output.write_text(write_report(a, configs, results, charts, note, time.monotonic() - started))
    if a.json:
        Path(a.json).write_text(json.dumps(
            {c.key: {"config": dataclasses.asdict(c), "runs": [dataclasses.asdict(r) for r in results[c.key]]}
             for c in configs}, indent=1))
    print(f"wrote {output}" + (f" and {len(charts)} chart(s)" if charts else f" (charts skipped: {note})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
