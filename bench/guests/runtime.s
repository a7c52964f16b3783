# Runtime shared by the Ember benchmark guests: the Multiboot v1 header, the entry point, COM1 output
# and the isa-debug-exit. Each guest supplies `guest_main` (no arguments, returns the exit value in %al).
#
# Machine state on entry (Multiboot 0.6.96 §3.2): 32-bit protected mode, paging off, flat 4 GiB code and
# data segments, interrupts off, EAX = 0x2BADB002, EBX = physical address of the Multiboot information
# structure. No stack is promised, so we set up our own.

    .set MB_HEADER_MAGIC,     0x1BADB002   # Multiboot 0.6.96 §3.1.2 `magic`
    .set MB_FLAG_PAGE_ALIGN,  1 << 0       # §3.1.2 flags bit 0: modules page aligned (we load none)
    .set MB_FLAG_MEMORY_INFO, 1 << 1       # §3.1.2 flags bit 1: ask for mem_* fields
    .set MB_HEADER_FLAGS,     MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO
    .set MB_BOOT_MAGIC,       0x2BADB002   # §3.2: value of EAX from a Multiboot loader

    .set COM1_THR,            0x3F8        # 16550A transmit holding register (DLAB = 0)
    .set COM1_LSR,            0x3FD        # 16550A line status register (base + 5)
    .set LSR_THR_EMPTY,       1 << 5       # 16550A LSR bit 5 (THRE): THR can take a byte
    .set DEBUG_EXIT_PORT,     0xF4         # QEMU isa-debug-exit / Ember --debug-exit: exit status (v<<1)|1

    .set STACK_SIZE,          4096

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)   # §3.1.2 checksum: magic + flags + checksum = 0

    .bss
    .balign 16
stack_bottom:
    .skip STACK_SIZE
stack_top:

    .data
    .balign 4
    .globl boot_magic, boot_info
boot_magic: .long 0          # EAX as the loader left it
boot_info:  .long 0          # EBX as the loader left it (only meaningful when boot_magic is right)

    .text
    .code32
    .globl _start
_start:
    cli
    mov  $stack_top, %esp
    mov  %eax, boot_magic
    mov  %ebx, boot_info
    call guest_main
    # fall through with the exit value in %al
    .globl debug_exit
debug_exit:                  # debug_exit(%al = value): never returns
    out  %al, $DEBUG_EXIT_PORT
1:  cli                      # no debug-exit device: park the vCPU
    hlt
    jmp  1b

# serial_putc(%al = byte). Polls LSR.THRE before each byte (16550A: writing THR while it is full
# loses the byte on a real UART). Clobbers nothing.
    .globl serial_putc
serial_putc:
    push %edx
    push %eax
    mov  $COM1_LSR, %dx
1:  in   %dx, %al
    test $LSR_THR_EMPTY, %al
    jz   1b
    pop  %eax
    mov  $COM1_THR, %dx
    out  %al, %dx
    pop  %edx
    ret

# serial_puts(%esi = NUL-terminated string). Clobbers %esi.
    .globl serial_puts
serial_puts:
    push %eax
1:  lodsb
    test %al, %al
    jz   2f
    call serial_putc
    jmp  1b
2:  pop  %eax
    ret

# serial_putdec(%eax = unsigned 32-bit value) in decimal. Clobbers nothing.
    .globl serial_putdec
serial_putdec:
    pusha
    mov  $10, %ebx
    xor  %ecx, %ecx          # digit count
1:  xor  %edx, %edx
    div  %ebx
    push %edx                # remainder = next digit, least significant first
    inc  %ecx
    test %eax, %eax
    jnz  1b
2:  pop  %eax
    add  $'0', %al
    call serial_putc
    loop 2b
    popa
    ret
