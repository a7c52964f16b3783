# exits.elf: an exit-path microbenchmark. Runs N iterations of one trapping access between two COM1
# markers, then exits with value 0 through the debug-exit port (process status 1).
#
#   EMBER-BENCH-LOOP-BEGIN mode=<mode> n=<N>\n   <- printed just before the loop
#   EMBER-BENCH-LOOP-END\n                       <- printed just after it
#
# The host times the two lines; (t_end - t_begin) / N is the cost of one iteration, i.e. one exit
# round trip plus two loop instructions (dec, jnz).
#
# Modes (the word after `mode=` on the Multiboot command line):
#   pio       32-bit OUT to port 0xE0: pc-testdev's scratch register (QEMU `-device pc-testdev`,
#             Ember's pc-testdev); a full exit to the VMM's port-I/O dispatcher.
#   mmio      32-bit MOV to 0xFF000000: pc-testdev's MMIO buffer; a full MMIO exit, which also makes
#             KVM decode the instruction.
#   pioevent  32-bit OUT to port 0xE4. A VMM that registers a 4-byte ioeventfd (no datamatch) on
#             port 0xE4 completes this write inside KVM without returning to user space; without one
#             it is a plain port exit like `pio`. (On QEMU, 0xE4 is pc-testdev's flush-page port, so
#             this mode is not meant for QEMU.)
#
# Command line: whitespace-separated tokens; `mode=WORD` and `n=DECIMAL` are read, everything else is
# skipped (QEMU puts the kernel's path first). Defaults come from the build (DEFAULT_MODE, DEFAULT_N,
# see build.sh), so images made for a VMM without a command-line option need no arguments. A bad mode
# or a bad/overflowing N prints EMBER-BENCH-BAD-ARGS and exits with value 1 (status 3).

    .set MODE_PIO,       1
    .set MODE_MMIO,      2
    .set MODE_PIOEVENT,  3
    .ifndef DEFAULT_MODE
    .set DEFAULT_MODE,   MODE_PIO
    .endif
    .ifndef DEFAULT_N
    .set DEFAULT_N,      100000
    .endif

    .set MB_BOOT_MAGIC,      0x2BADB002   # Multiboot 0.6.96 §3.2: EAX from a Multiboot loader
    .set MB_INFO_CMDLINE,    1 << 2       # §3.3 flags bit 2: `cmdline` field is valid
    .set MB_INFO_CMDLINE_AT, 16           # §3.3: offset of `cmdline` (physical address of a C string)

    .set TESTDEV_PORT,       0xE0         # pc-testdev 32-bit scratch register
    .set PIOEVENT_PORT,      0xE4         # port a VMM may back with an ioeventfd
    .set TESTDEV_MMIO,       0xFF000000   # pc-testdev MMIO buffer

    .set CMDLINE_CAP,        1024         # bytes of the command line we copy (incl. NUL); rest ignored

    .section .rodata
begin_marker: .asciz "EMBER-BENCH-LOOP-BEGIN mode="
n_label:      .asciz " n="
newline:      .asciz "\n"
end_marker:   .asciz "EMBER-BENCH-LOOP-END\n"
bad_args:     .asciz "EMBER-BENCH-BAD-ARGS\n"
key_mode:     .asciz "mode="
key_n:        .asciz "n="
word_pio:     .asciz "pio"
word_mmio:    .asciz "mmio"
word_pioevent: .asciz "pioevent"
    .balign 4
mode_names:   .long 0, word_pio, word_mmio, word_pioevent

    .data
    .balign 4
mode:  .long DEFAULT_MODE
count: .long DEFAULT_N

    .bss
cmdline_copy: .skip CMDLINE_CAP

    .text
    .code32
    .globl guest_main
guest_main:
    call parse_cmdline
    test %eax, %eax
    jnz  bad

    mov  $begin_marker, %esi
    call serial_puts
    mov  mode, %eax
    mov  mode_names(,%eax,4), %esi
    call serial_puts
    mov  $n_label, %esi
    call serial_puts
    mov  count, %eax
    call serial_putdec
    mov  $newline, %esi
    call serial_puts

    mov  count, %ecx
    test %ecx, %ecx
    jz   done
    mov  mode, %eax
    mov  $TESTDEV_MMIO, %edi
    cmp  $MODE_MMIO, %eax
    je   mmio_loop
    cmp  $MODE_PIOEVENT, %eax
    je   pioevent_loop

    .balign 16
pio_loop:
    out  %eax, $TESTDEV_PORT
    dec  %ecx
    jnz  pio_loop
    jmp  done

    .balign 16
mmio_loop:
    mov  %eax, (%edi)
    dec  %ecx
    jnz  mmio_loop
    jmp  done

    .balign 16
pioevent_loop:
    out  %eax, $PIOEVENT_PORT
    dec  %ecx
    jnz  pioevent_loop

done:
    mov  $end_marker, %esi
    call serial_puts
    xor  %eax, %eax
    ret
bad:
    mov  $bad_args, %esi
    call serial_puts
    mov  $1, %eax
    ret

# parse_cmdline() -> %eax = 0 if the command line (or its absence) is acceptable, 1 if not.
# Copies at most CMDLINE_CAP-1 bytes first, so a missing NUL in guest memory cannot run us off.
parse_cmdline:
    cmpl $MB_BOOT_MAGIC, boot_magic
    jne  parse_ok                       # not booted by Multiboot: keep the defaults
    mov  boot_info, %ebx
    test %ebx, %ebx
    jz   parse_ok
    testl $MB_INFO_CMDLINE, (%ebx)
    jz   parse_ok
    mov  MB_INFO_CMDLINE_AT(%ebx), %esi
    test %esi, %esi
    jz   parse_ok

    mov  $cmdline_copy, %edi
    mov  $CMDLINE_CAP - 1, %ecx
1:  lodsb
    test %al, %al
    jz   2f
    stosb
    loop 1b
2:  movb $0, (%edi)
    mov  $cmdline_copy, %esi

next_token:
    cmpb $' ', (%esi)
    jne  1f
    inc  %esi
    jmp  next_token
1:  cmpb $0, (%esi)
    je   parse_ok

    mov  $key_mode, %edi
    call match_prefix
    jnz  try_n
    mov  $word_pio, %edi
    call match_word
    mov  $MODE_PIO, %edx
    jz   set_mode
    mov  $word_mmio, %edi
    call match_word
    mov  $MODE_MMIO, %edx
    jz   set_mode
    mov  $word_pioevent, %edi
    call match_word
    mov  $MODE_PIOEVENT, %edx
    jz   set_mode
    jmp  parse_bad
set_mode:
    mov  %edx, mode
    jmp  next_token

try_n:
    mov  $key_n, %edi
    call match_prefix
    jnz  skip_token
    xor  %eax, %eax                     # value
    xor  %ecx, %ecx                     # digits seen
    mov  $10, %ebx
digit:
    movzbl (%esi), %edx
    cmp  $' ', %dl
    je   n_end
    test %dl, %dl
    jz   n_end
    sub  $'0', %edx
    cmp  $9, %edx
    ja   parse_bad                      # not a digit (unsigned compare also catches < '0')
    push %edx
    mul  %ebx                           # edx:eax = value * 10
    pop  %edx
    jc   parse_bad                      # overflowed 32 bits
    add  %edx, %eax
    jc   parse_bad
    inc  %ecx
    inc  %esi
    jmp  digit
n_end:
    test %ecx, %ecx
    jz   parse_bad                      # `n=` with no digits
    mov  %eax, count
    jmp  next_token

skip_token:
    cmpb $' ', (%esi)
    je   next_token
    cmpb $0, (%esi)
    je   parse_ok
    inc  %esi
    jmp  skip_token

parse_ok:
    xor  %eax, %eax
    ret
parse_bad:
    mov  $1, %eax
    ret

# match_prefix(%esi = string, %edi = NUL-terminated prefix) -> ZF=1 and %esi past the prefix if the
# string starts with it; ZF=0 and %esi unchanged otherwise. Clobbers %eax, %edi.
match_prefix:
    push %esi
1:  mov  (%edi), %al
    test %al, %al
    jz   2f
    cmp  (%esi), %al
    jne  3f
    inc  %esi
    inc  %edi
    jmp  1b
2:  add  $4, %esp
    xor  %eax, %eax                     # ZF=1
    ret
3:  pop  %esi
    or   $1, %eax                       # ZF=0
    ret

# match_word(%esi, %edi = word) -> like match_prefix, but the word must end at a space or NUL.
match_word:
    push %esi
    call match_prefix
    jnz  1f
    mov  (%esi), %al
    cmp  $' ', %al
    je   2f
    test %al, %al
    jz   2f
1:  pop  %esi
    or   $1, %eax                       # ZF=0
    ret
2:  add  $4, %esp
    xor  %eax, %eax                     # ZF=1
    ret
