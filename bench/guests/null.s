# null.elf: the smallest useful guest. Prints the ready marker on COM1 and exits with value 0 through
# the debug-exit port, so the VMM process ends with status (0<<1)|1 = 1. It measures the VMM's fixed
# cost: process start, VM and vCPU creation, image load, the first exits, and teardown.

    .section .rodata
ready_marker: .asciz "EMBER-BENCH-READY\n"

    .text
    .code32
    .globl guest_main
guest_main:
    mov  $ready_marker, %esi
    call serial_puts
    xor  %eax, %eax          # exit value 0
    ret
