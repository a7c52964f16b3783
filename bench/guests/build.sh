#!/usr/bin/env bash
# Builds the benchmark guests as Multiboot v1 ELF32 images with GNU as/ld (binutils), no libc.
# Usage: bench/guests/build.sh [OUTDIR] [N]
#   OUTDIR  where the images go (default: bench/out/guests)
#   N       iteration count baked into the exits-*.elf images (default 100000)
# Produces:
#   null.elf               prints EMBER-BENCH-READY, exits with value 0 (status 1)
#   exits.elf              exit loop, mode/n from the command line (defaults mode=pio n=N)
#   exits-pio.elf, exits-mmio.elf, exits-pioevent.elf
#                          the same code with that mode and N as defaults, for VMMs that pass no
#                          command line; a command line still overrides them
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../out/guests}
n=${2:-100000}
[[ $n =~ ^[1-9][0-9]{0,9}$ ]] && [ "$n" -le 4294967295 ] || { echo "build.sh: N must be 1..4294967295" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT

AS=(as --32 --fatal-warnings)
# One RWX LOAD segment on purpose: the simplest thing for a Multiboot loader to place.
LD=(ld -m elf_i386 -nostdlib -static -T "$here/link.ld" --build-id=none -z noexecstack --no-warn-rwx-segments)

"${AS[@]}" -o "$obj/runtime.o" "$here/runtime.s"
"${AS[@]}" -o "$obj/null.o" "$here/null.s"
"${LD[@]}" -o "$out/null.elf" "$obj/runtime.o" "$obj/null.o"

build_exits() { # name mode-number
  "${AS[@]}" --defsym DEFAULT_MODE="$2" --defsym DEFAULT_N="$n" -o "$obj/$1.o" "$here/exits.s"
  "${LD[@]}" -o "$out/$1.elf" "$obj/runtime.o" "$obj/$1.o"
}
build_exits exits 1
build_exits exits-pio 1
build_exits exits-mmio 2
build_exits exits-pioevent 3
echo "guests built in $out (exits-*.elf: n=$n)"
