#!/usr/bin/env bash
# One command for the benchmark suite: builds the guests, the raw-KVM exit loop and Ember (Native AOT,
# falling back to the framework-dependent build), then measures Ember, QEMU and the raw KVM limit
# interleaved and writes BENCHMARKS.md at the repository root.
#
# Usage: bench/run.sh [--runs N] [--warmup N] [--n ITER] [--only ember,qemu,limit] [--qemu-pc]
#                     [--skip-ember-build] [--output FILE] [-- extra measure.py arguments]
# Environment: BENCH_RUNS, BENCH_N override the defaults below.
# Needs: binutils (as, ld), gcc, qemu-system-x86_64, /usr/bin/time (Debian `time`), python3, dotnet,
# /dev/kvm. Default settings take well under 5 minutes on a 2-core machine.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench/.." && pwd)
out=$bench/out

runs=${BENCH_RUNS:-10}
warmup=1
n=${BENCH_N:-50000}
only=""
qemu_pc=()
skip_ember_build=false
output=$repo/BENCHMARKS.md
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --qemu-pc) qemu_pc=(--qemu-pc); shift ;;
    --linux) linux_runs=$2; shift 2 ;;
    --skip-ember-build) skip_ember_build=true; shift ;;
    --output) output=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out/logs"

# Tools. scripts/install-deps.sh bench installs gcc, QEMU and `time` when they are missing.
"$repo/scripts/install-deps.sh" bench
for tool in as ld gcc qemu-system-x86_64; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time (Debian package 'time') is required" >&2; exit 1; }

# Python: prefer an interpreter that has matplotlib (charts); Debian's python3-matplotlib lands in
# /usr/bin/python3, which may not be the first python3 on PATH. Charts are optional.
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import matplotlib' 2>/dev/null; then
    python=$candidate; break
  fi
done
if [ -z "$python" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Trying to install python3-matplotlib for the charts (optional)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null 2>&1 || true
  /usr/bin/python3 -c 'import matplotlib' 2>/dev/null && python=/usr/bin/python3
fi
python=${python:-python3}

echo "== guests (N=$n)"
"$bench/guests/build.sh" "$out/guests" "$n"

echo "== raw KVM exit loop"
gcc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$out/exit_loop" "$bench/kvm-limit/exit_loop.c"

echo "== Ember"
ember="$repo/artifacts/ember-aot/ember"
ember_kind="Native AOT"
fallback="$repo/src/Ember.Cli/bin/Release/net10.0/ember"
if [[ ",$only," == *",ember,"* || -z "$only" ]]; then
  if $skip_ember_build; then
    [ -x "$ember" ] || { ember=$fallback; ember_kind="framework-dependent (dotnet build)"; }
  elif (cd "$repo" && dotnet publish src/Ember.Cli -c Release -r linux-x64 -p:PublishAot=true \
          -o artifacts/ember-aot -nologo -v quiet) >"$out/logs/publish-aot.log" 2>&1; then
    :
  else
    echo "Native AOT publish failed (see $out/logs/publish-aot.log); trying dotnet build"
    ember=$fallback
    ember_kind="framework-dependent (dotnet build; AOT publish failed)"
    if ! (cd "$repo" && dotnet build src/Ember.Cli -c Release -nologo -v quiet) >"$out/logs/build.log" 2>&1; then
      echo "dotnet build failed too (see $out/logs/build.log); Ember rows will read n/a"
      ember_kind="not built (AOT publish and dotnet build failed)"
    fi
  fi
else
  ember_kind="not measured (--only $only)"
fi
echo "ember: $ember ($ember_kind)"

echo "== measuring ($runs runs each, $warmup warm-up, interleaved)"
# From the repository root with relative paths, so the commands recorded in BENCHMARKS.md are portable.
cd "$repo"
ember=${ember#"$repo"/}; [[ $ember == /* ]] || ember=./$ember
args=(--ember "$ember" --ember-kind "$ember_kind" --exit-loop ./bench/out/exit_loop --guests bench/out/guests
      --n "$n" --runs "$runs" --warmup "$warmup" --output "$output" --charts bench/charts
      --json bench/out/results.json)
[ -n "$only" ] && args+=(--only "$only")
"$python" "$bench/measure.py" "${args[@]}" ${qemu_pc[@]+"${qemu_pc[@]}"} ${extra[@]+"${extra[@]}"}

# VM lifecycle through the .NET API: start/run/stop rate and user-space memory per idle VM.
if (cd "$repo" && dotnet build bench/Ember.Bench.VmLifecycle -c Release -nologo -v quiet) >"$out/logs/lifecycle-build.log" 2>&1; then
  {
    echo
    echo "## VM lifecycle through the .NET API (one process)"
    echo
    echo "\`MicroVm.Create\` → \`Run\` (null guest to its debug exit) → \`Dispose\`, 50 times after 3 warm-ups; then 20 machines created and left idle, user-space RSS growth divided by 20 (KVM's kernel memory is not in RSS). Command: \`bench/Ember.Bench.VmLifecycle/bin/Release/net10.0/Ember.Bench.VmLifecycle bench/out/guests/null.elf 50 20 MODE\`."
    echo
    echo "| irqchip | VMs started and stopped per second | per VM median (p10/p90) | RSS per idle VM |"
    echo "|---|---|---|---|"
    for mode in split kernel userspace; do
      bench/Ember.Bench.VmLifecycle/bin/Release/net10.0/Ember.Bench.VmLifecycle bench/out/guests/null.elf 50 20 "$mode" |
        sed -E 's/.*irqchip=([A-Za-z]+).*vms_per_second=([0-9.]+) median_ms=([0-9.]+) p10_ms=([0-9.]+) p90_ms=([0-9.]+).*rss_per_idle_vm_kib=([0-9]+).*/| \1 | \2 | \3 ms (\4\/\5) | \6 KiB |/'
    done
  } >> "$output"
fi

# Optional (slow: minutes per run on a software KVM): the Linux early-boot timeline next to QEMU's.
if [ "${linux_runs:-0}" -gt 0 ]; then
  kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort | tail -n 1)
  if [ -n "$kernel" ]; then
    "$ember" image vmlinux "$kernel" -o bench/out/vmlinux >/dev/null
    {
      echo
      echo "## Linux early boot: seconds from process start (median of $linux_runs interleaved runs)"
      echo
      echo "Kernel \`$kernel\`, 2 vCPUs, 256 MiB, \`console=ttyS0 earlyprintk=ttyS0 noxsave\`, CX16/XSAVE hidden. Command: \`bench/run.sh --linux $linux_runs\` (\`bench/linux_timeline.py\`)."
      echo
      "$python" "$bench/linux_timeline.py" "$ember" "$kernel" bench/out/vmlinux "$linux_runs"
    } >> "$output"
  fi
fi
