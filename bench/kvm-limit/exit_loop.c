/*
 * exit_loop: the raw KVM limit for the exit path.
 *
 * A VMM with nothing in it: one vCPU, one memory slot, a Multiboot v1 ELF32 image (or a raw blob)
 * loaded and entered directly in 32-bit protected mode, and an exit loop whose handlers do nothing.
 * Whatever a real VMM (Ember, QEMU) spends per exit on top of this program's figure is its own
 * dispatch cost; this program's figure is KVM's (plus the kernel's syscall round trip).
 *
 * The only exits it gives meaning to:
 *   OUT 0x3F8      COM1 THR: the byte is echoed to stdout (the guests' markers need it).
 *   IN  0x3FD      COM1 LSR: answers "transmitter empty" (16550A LSR bits 5 and 6).
 *   OUT 0xF4       debug exit: stop; the process exits with status (value << 1) | 1, as QEMU's
 *                  isa-debug-exit and `ember run --debug-exit` do.
 * Every other port or MMIO access is ignored (reads return whatever the run area holds).
 *
 * Timing (same definition the harness uses for QEMU and Ember, but measured at exit granularity):
 * t_begin is taken at the exit that writes the '\n' of the guest's "EMBER-BENCH-LOOP-BEGIN ... n=N"
 * line, t_end at the next serial exit after it (the first LSR poll of the END marker).
 * ns_per_iter = (t_end - t_begin) / N. ns_per_exit divides by the user-space exits seen in between,
 * which is 0 when an ioeventfd completes the writes inside KVM.
 *
 * Usage: exit_loop [options] IMAGE
 *   --cmdline STR    Multiboot command line (e.g. "mode=pio n=100000")
 *   --memory MIB     guest RAM in MiB (default 32)
 *   --raw ADDR       IMAGE is a raw blob: load it at ADDR and enter there (EAX/EBX still Multiboot)
 *   --entry ADDR     with --raw: enter at ADDR instead of the load address
 *   --ioeventfd      register a 4-byte PIO ioeventfd on port 0xE4 (the guests' `pioevent` mode)
 *   --no-irqchip     do not create the in-kernel irqchip (default: KVM_CREATE_IRQCHIP, like a VMM)
 *   --timeout SEC    give up after SEC seconds (default 120)
 *
 * Sources of facts: Linux Documentation/virt/kvm/api.rst (ioctls, struct kvm_run), Multiboot 0.6.96
 * §3.2 (machine state) and §3.3 (boot information), Intel SDM Vol. 3A §3.4.5 (segment descriptors),
 * ELF32 (System V ABI, Intel386 supplement).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Guest physical layout (all below 640 KiB, away from the 1 MiB image). */
#define GDT_ADDR           0x8000u     /* our GDT, so the guest may reload selectors */
#define MB_INFO_ADDR       0x9000u     /* Multiboot information structure (§3.3) */
#define MB_CMDLINE_ADDR    0x9100u     /* its command line */
#define MB_CMDLINE_CAP     0x0F00u     /* bytes available for the command line, incl. NUL */
#define TSS_ADDR           0xFFFBD000u /* three pages KVM wants on Intel for real-mode emulation */
#define ONE_MIB            0x100000u

#define MB_BOOT_MAGIC      0x2BADB002u /* §3.2: EAX on entry */
#define MB_HEADER_MAGIC    0x1BADB002u /* §3.1.2 */
#define MB_HEADER_SEARCH   8192u       /* §3.1.1: the header lies in the first 8 KiB */
#define MB_INFO_MEMORY     (1u << 0)   /* §3.3 flags: mem_lower/mem_upper valid */
#define MB_INFO_CMDLINE    (1u << 2)   /* §3.3 flags: cmdline valid */
#define MB_MEM_LOWER_KIB   640u

#define SEL_CODE           0x10        /* GDT entry 2 */
#define SEL_DATA           0x18        /* GDT entry 3 */
#define CR0_PE             (1u << 0)
#define CR0_ET             (1u << 4)
#define RFLAGS_RESERVED    (1u << 1)   /* bit 1 always reads as 1 */

#define COM1_THR           0x3F8
#define COM1_LSR           0x3FD
#define LSR_IDLE           0x60        /* 16550A LSR: THRE (bit 5) | TEMT (bit 6) */
#define DEBUG_EXIT_PORT    0xF4
#define PIOEVENT_PORT      0xE4
#define PIOEVENT_LEN       4

#define MAX_IMAGE_BYTES    (64u << 20)
#define LINE_CAP           256
#define BEGIN_MARKER       "EMBER-BENCH-LOOP-BEGIN"
#define STATUS_ERROR       2           /* even, so it never collides with (v << 1) | 1 */

struct guest {
    int kvm, vm, vcpu, eventfd;
    uint8_t *mem;
    uint64_t mem_size;
    struct kvm_run *run;
    size_t run_size;
};

static volatile sig_atomic_t timed_out;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("exit_loop: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(STATUS_ERROR);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > MAX_IMAGE_BYTES)
        die("%s: empty, unreadable or larger than %u bytes", path, MAX_IMAGE_BYTES);
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf)
        die("out of memory");
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            die("reading %s: %s", path, n < 0 ? strerror(errno) : "short read");
        got += (size_t)n;
    }
    close(fd);
    *size = got;
    return buf;
}

/* Overflow-safe check that [addr, addr + len) lies in guest RAM. */
static bool in_ram(const struct guest *g, uint64_t addr, uint64_t len)
{
    return addr <= g->mem_size && len <= g->mem_size - addr;
}

static void warn_if_no_multiboot_header(const uint8_t *img, size_t size)
{
    size_t limit = size < MB_HEADER_SEARCH ? size : MB_HEADER_SEARCH;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic, flags, sum;
        memcpy(&magic, img + off, 4);
        memcpy(&flags, img + off + 4, 4);
        memcpy(&sum, img + off + 8, 4);
        if (magic == MB_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
            if (flags & (1u << 16))
                fprintf(stderr, "exit_loop: note: a.out kludge flag ignored, loading the ELF program headers\n");
            return;
        }
    }
    fprintf(stderr, "exit_loop: warning: no Multiboot v1 header in the first 8 KiB; loading anyway\n");
}

/* Loads the PT_LOAD segments at their physical addresses; returns the entry point. */
static uint32_t load_elf32(struct guest *g, const uint8_t *img, size_t size)
{
    Elf32_Ehdr eh;
    if (size < sizeof eh)
        die("image too small for an ELF header");
    memcpy(&eh, img, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        die("not an ELF file (use --raw ADDR for a raw blob)");
    if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386)
        die("not a little-endian ELF32 i386 image (Multiboot v1 loads ELF32 only)");
    if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0)
        die("bad program header table");
    if ((uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) > size)
        die("program header table outside the file");
    warn_if_no_multiboot_header(img, size);

    int loaded = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            die("segment %u: filesz > memsz", i);
        if ((uint64_t)ph.p_offset + ph.p_filesz > size)
            die("segment %u: file range outside the file", i);
        if (!in_ram(g, ph.p_paddr, ph.p_memsz))
            die("segment %u: [0x%x, +0x%x) outside guest RAM", i, ph.p_paddr, ph.p_memsz);
        memcpy(g->mem + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
        memset(g->mem + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        loaded++;
    }
    if (!loaded)
        die("no loadable segment");
    return eh.e_entry;
}

static uint32_t load_raw(struct guest *g, const uint8_t *img, size_t size, uint64_t addr)
{
    if (!in_ram(g, addr, size))
        die("raw image [0x%" PRIx64 ", +0x%zx) outside guest RAM", addr, size);
    memcpy(g->mem + addr, img, size);
    return (uint32_t)addr;
}

static void write_boot_info(struct guest *g, const char *cmdline)
{
    uint32_t info[8] = {0};
    info[0] = MB_INFO_MEMORY;
    info[1] = MB_MEM_LOWER_KIB;                              /* mem_lower, KiB from 0 */
    info[2] = (uint32_t)((g->mem_size - ONE_MIB) / 1024);     /* mem_upper, KiB from 1 MiB */
    if (cmdline) {
        size_t len = strlen(cmdline);
        if (len >= MB_CMDLINE_CAP)
            die("command line longer than %u bytes", MB_CMDLINE_CAP - 1);
        memcpy(g->mem + MB_CMDLINE_ADDR, cmdline, len + 1);
        info[0] |= MB_INFO_CMDLINE;
        info[4] = MB_CMDLINE_ADDR;                          /* §3.3 offset 16 */
    }
    memcpy(g->mem + MB_INFO_ADDR, info, sizeof info);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
    struct kvm_segment s = {
        .base = 0, .limit = 0xFFFFFFFFu, .selector = selector, .type = type,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1, .avl = 0, .unusable = 0,
    };
    return s;
}

static void enter_protected_mode(struct guest *g, uint32_t entry)
{
    /* SDM 3A §3.4.5: flat 4 GiB, G=1, D/B=1; code type 0xB (execute/read, accessed),
     * data type 0x3 (read/write, accessed). */
    static const uint64_t gdt[4] = {
        0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull,
    };
    memcpy(g->mem + GDT_ADDR, gdt, sizeof gdt);

    struct kvm_sregs sregs;
    if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS: %s", strerror(errno));
    sregs.cs = flat_segment(SEL_CODE, 0xB);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(SEL_DATA, 0x3);
    sregs.gdt.base = GDT_ADDR;
    sregs.gdt.limit = sizeof gdt - 1;
    sregs.cr0 = CR0_PE | CR0_ET;   /* Multiboot §3.2: PE set, PG clear */
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS: %s", strerror(errno));

    struct kvm_regs regs = {0};
    regs.rip = entry;
    regs.rax = MB_BOOT_MAGIC;
    regs.rbx = MB_INFO_ADDR;
    regs.rflags = RFLAGS_RESERVED;   /* IF and VM clear (§3.2) */
    if (ioctl(g->vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS: %s", strerror(errno));
}

static void create_vm(struct guest *g, bool irqchip)
{
    g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (g->kvm < 0)
        die("/dev/kvm: %s", strerror(errno));
    if (ioctl(g->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        die("unexpected KVM API version");
    g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0);
    if (g->vm < 0)
        die("KVM_CREATE_VM: %s", strerror(errno));
    if (ioctl(g->vm, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
        fprintf(stderr, "exit_loop: note: KVM_SET_TSS_ADDR: %s (ignored)\n", strerror(errno));
    if (irqchip && ioctl(g->vm, KVM_CREATE_IRQCHIP, 0) < 0)
        die("KVM_CREATE_IRQCHIP: %s", strerror(errno));

    g->mem = mmap(NULL, g->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (g->mem == MAP_FAILED)
        die("mmap guest RAM: %s", strerror(errno));
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0, .memory_size = g->mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)g->mem,
    };
    if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

    g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
    if (g->vcpu < 0)
        die("KVM_CREATE_VCPU: %s", strerror(errno));
    int run_size = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    g->run_size = (size_t)run_size;
    g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
    if (g->run == MAP_FAILED)
        die("mmap kvm_run: %s", strerror(errno));
}

static void register_pioevent(struct guest *g)
{
    if (ioctl(g->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
        die("KVM_CAP_IOEVENTFD not supported");
    g->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->eventfd < 0)
        die("eventfd: %s", strerror(errno));
    struct kvm_ioeventfd ev = {
        .addr = PIOEVENT_PORT, .len = PIOEVENT_LEN, .fd = g->eventfd, .flags = KVM_IOEVENTFD_FLAG_PIO,
    };
    if (ioctl(g->vm, KVM_IOEVENTFD, &ev) < 0)
        die("KVM_IOEVENTFD: %s", strerror(errno));
}

/* What the harness needs from the serial stream: where the loop starts and ends. */
struct loop_clock {
    char line[LINE_CAP];
    size_t len;
    bool armed;         /* BEGIN line seen, waiting for the next serial exit */
    bool done;
    uint64_t n, t_begin, t_end, exits_at_begin, loop_exits;
};

static void serial_exit_seen(struct loop_clock *c, uint64_t exits)
{
    if (c->armed) {
        c->t_end = now_ns();
        c->loop_exits = exits - 1 - c->exits_at_begin;   /* minus this serial exit */
        c->armed = false;
        c->done = true;
    }
}

static void serial_byte(struct loop_clock *c, uint8_t b, uint64_t exits)
{
    if (b != '\n') {
        if (c->len < LINE_CAP - 1)
            c->line[c->len++] = (char)b;
        return;
    }
    c->line[c->len] = '\0';
    c->len = 0;
    const char *n = strstr(c->line, " n=");
    if (!c->done && strncmp(c->line, BEGIN_MARKER, strlen(BEGIN_MARKER)) == 0 && n) {
        c->n = strtoull(n + 3, NULL, 10);
        c->exits_at_begin = exits;
        c->armed = true;
        c->t_begin = now_ns();
    }
}

int main(int argc, char **argv)
{
    const char *cmdline = NULL, *image = NULL;
    uint64_t mem_mib = 32, raw_addr = 0, raw_entry = 0;
    bool raw = false, has_entry = false, ioeventfd = false, irqchip = true;
    unsigned timeout = 120;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--cmdline") && has_value) cmdline = argv[++i];
        else if (!strcmp(a, "--memory") && has_value) mem_mib = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--raw") && has_value) { raw = true; raw_addr = strtoull(argv[++i], NULL, 0); }
        else if (!strcmp(a, "--entry") && has_value) { has_entry = true; raw_entry = strtoull(argv[++i], NULL, 0); }
        else if (!strcmp(a, "--ioeventfd")) ioeventfd = true;
        else if (!strcmp(a, "--no-irqchip")) irqchip = false;
        else if (!strcmp(a, "--timeout") && has_value) timeout = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (a[0] != '-' && !image) image = a;
        else die("usage: exit_loop [--cmdline STR] [--memory MIB] [--raw ADDR [--entry ADDR]] [--ioeventfd] [--no-irqchip] [--timeout SEC] IMAGE");
    }
    if (!image)
        die("no image given");
    if (mem_mib < 2 || mem_mib > 3072)
        die("--memory must be 2..3072 MiB");
    if (has_entry && !raw)
        die("--entry applies to --raw images only (an ELF names its own entry)");
    if (has_entry && raw_entry > UINT32_MAX)
        die("--entry must be a 32-bit address");

    uint64_t t_start = now_ns();
    struct guest g = { .eventfd = -1, .mem_size = mem_mib << 20 };
    create_vm(&g, irqchip);
    if (ioeventfd)
        register_pioevent(&g);
    size_t img_size;
    uint8_t *img = read_file(image, &img_size);
    uint32_t entry = raw ? load_raw(&g, img, img_size, raw_addr) : load_elf32(&g, img, img_size);
    if (has_entry)
        entry = (uint32_t)raw_entry;
    free(img);
    write_boot_info(&g, cmdline);
    enter_protected_mode(&g, entry);

    struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(timeout);

    struct loop_clock clock = {0};
    uint64_t exits = 0, t_ready = now_ns();
    int status = -1;
    while (status < 0) {
        if (ioctl(g.vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR && !timed_out)
                continue;
            if (timed_out)
                die("timed out after %u s (%" PRIu64 " exits)", timeout, exits);
            die("KVM_RUN: %s", strerror(errno));
        }
        exits++;
        struct kvm_run *r = g.run;
        switch (r->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)r + r->io.data_offset;
            size_t bytes = (size_t)r->io.size * r->io.count;
            if (r->io.port == COM1_LSR || r->io.port == COM1_THR)
                serial_exit_seen(&clock, exits);
            if (r->io.direction == KVM_EXIT_IO_OUT) {
                if (r->io.port == DEBUG_EXIT_PORT) {
                    uint32_t v = 0;
                    memcpy(&v, data, r->io.size < 4 ? r->io.size : 4);
                    status = (int)(((v << 1) | 1) & 0xFF);
                } else if (r->io.port == COM1_THR) {
                    /* THR is 8 bits wide: the low byte of each element is the character. */
                    for (size_t k = 0; k < bytes; k += r->io.size) {
                        serial_byte(&clock, data[k], exits);
                        if (write(STDOUT_FILENO, &data[k], 1) < 0) {
                            /* stdout closed: the guest cannot tell, so neither do we */
                        }
                    }
                }
            } else if (r->io.port == COM1_LSR) {
                memset(data, LSR_IDLE, bytes);
            }
            break;  /* all other ports: empty handler */
        }
        case KVM_EXIT_MMIO:
            break;  /* empty handler */
        case KVM_EXIT_HLT:
            die("guest halted without writing to port 0x%x", DEBUG_EXIT_PORT);
        case KVM_EXIT_SHUTDOWN:
            die("guest triple-faulted (KVM_EXIT_SHUTDOWN) after %" PRIu64 " exits", exits);
        case KVM_EXIT_FAIL_ENTRY:
            die("KVM_EXIT_FAIL_ENTRY, reason 0x%llx",
                (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            die("KVM_EXIT_INTERNAL_ERROR, suberror %u", r->internal.suberror);
        case KVM_EXIT_INTR:
            break;
        default:
            die("unhandled exit reason %u", r->exit_reason);
        }
    }
    uint64_t t_stop = now_ns();

    fprintf(stderr, "exit_loop: setup_ns=%" PRIu64 " run_ns=%" PRIu64 " total_exits=%" PRIu64 " status=%d",
            t_ready - t_start, t_stop - t_ready, exits, status);
    if (clock.done && clock.n > 0) {
        uint64_t loop_ns = clock.t_end - clock.t_begin;
        fprintf(stderr, " n=%" PRIu64 " loop_ns=%" PRIu64 " ns_per_iter=%.1f loop_exits=%" PRIu64,
                clock.n, loop_ns, (double)loop_ns / (double)clock.n, clock.loop_exits);
        if (clock.loop_exits > 0)
            fprintf(stderr, " ns_per_exit=%.1f", (double)loop_ns / (double)clock.loop_exits);
    }
    fputc('\n', stderr);
    return status;
}
