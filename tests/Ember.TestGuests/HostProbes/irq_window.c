/*
 * Host probe: what does this KVM do with request_interrupt_window (api.rst, struct kvm_run)?
 * Runs the same real-mode guest as Ember's InterruptWindowTests, RUNS times, each in a fresh VM:
 *   0x1000: cli; xor ax,ax; mov ds,ax; out 0x10,al; sti; mov cx,200; loop $; hlt; out 0x11,al; hlt
 *   0x1800: out 0x12,al; iret            (IVT vector 0x20, segment 0; stack at 0x8000)
 * At the exit for port 0x10 (IF=0) it sets request_interrupt_window. The next exit must be
 * IRQ_WINDOW_OPEN (what the documentation promises) or HLT (what kvm_pvm was seen to do); either way
 * IF must be 1, ready_for_interrupt_injection 1, RIP past the sti, and vector 0x20, injected with
 * KVM_INTERRUPT there, must reach its handler exactly once. Anything else is a violation.
 * Prints "runs=N window=W hlt=H violations=V" and, for the first violation, what it was.
 * Used by Ember's tests to judge Ember and plain KVM by the same rules under the same conditions.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MEMORY = 0x10000, CODE = 0x1000, HANDLER = 0x1800, STACK = 0x8000, VECTOR = 0x20 };
enum { AFTER_STI = CODE + 8 }; /* the address of the instruction after sti */

static char first_violation[200];

static int violation(const char *what, unsigned long long rip)
{
    if (!first_violation[0])
        snprintf(first_violation, sizeof first_violation, "%s (rip 0x%llx)", what, rip);
    return -1;
}

/* Returns 1 for a window exit, 2 for HLT, -1 for a violation, -2 for a host error. */
static int run_once(int kvm, int mmap_size)
{
    static const unsigned char code[] = {
        0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xe6, 0x10, 0xfb, /* cli; xor ax,ax; mov ds,ax; out 0x10,al; sti */
        0xb9, 0xc8, 0x00, 0xe2, 0xfe, 0xf4,             /* mov cx,200; loop $; hlt */
        0xe6, 0x11, 0xf4,                               /* out 0x11,al; hlt */
    };
    static const unsigned char handler[] = { 0xe6, 0x12, 0xcf }; /* out 0x12,al; iret */
    int result = -2;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) { perror("KVM_CREATE_VM"); return -2; }
    unsigned char *mem = mmap(NULL, MEMORY, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memcpy(mem + CODE, code, sizeof code);
    memcpy(mem + HANDLER, handler, sizeof handler);
    mem[VECTOR * 4] = HANDLER & 0xff; mem[VECTOR * 4 + 1] = HANDLER >> 8; /* offset; segment stays 0 */
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEMORY, .userspace_addr = (unsigned long)mem };
    int vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) { perror("KVM_SET_USER_MEMORY_REGION"); goto out; }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) { perror("KVM_CREATE_VCPU"); goto out; }
    run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    ioctl(vcpu, KVM_GET_SREGS, &sregs);
    sregs.cs.base = sregs.ds.base = sregs.es.base = sregs.ss.base = sregs.fs.base = sregs.gs.base = 0;
    sregs.cs.selector = sregs.ds.selector = sregs.es.selector = sregs.ss.selector = sregs.fs.selector = sregs.gs.selector = 0;
    ioctl(vcpu, KVM_SET_SREGS, &sregs);
    struct kvm_regs regs = { .rip = CODE, .rsp = STACK, .rflags = 2 };
    ioctl(vcpu, KVM_SET_REGS, &regs);
    int requested = 0, outcome = 0, handled = 0;
    for (int exits = 0; exits < 20; exits++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) { perror("KVM_RUN"); goto out; }
        ioctl(vcpu, KVM_GET_REGS, &regs);
        unsigned int reason = run->exit_reason;
        if (reason == KVM_EXIT_IO && run->io.port == 0x10) {
            run->request_interrupt_window = 1;
            requested = 1;
            continue;
        }
        if (reason == KVM_EXIT_IO && run->io.port == 0x12) {
            if (!outcome) { result = violation("handler ran before any injection", regs.rip); goto out; }
            handled++;
            continue;
        }
        if (outcome) {
            /* After the injection: the guest halts again (the loop count is spent) or finishes. */
            if (reason == KVM_EXIT_HLT || (reason == KVM_EXIT_IO && run->io.port == 0x11)) {
                result = handled == 1 ? outcome : violation("the injected vector was not taken exactly once", regs.rip);
                goto out;
            }
            result = violation("unexpected exit after the injection", regs.rip);
            goto out;
        }
        if (!requested) { result = violation("exit before the window was requested", regs.rip); goto out; }
        if (reason != KVM_EXIT_IRQ_WINDOW_OPEN && reason != KVM_EXIT_HLT) { result = violation("first exit after the request is neither IRQ_WINDOW_OPEN nor HLT", regs.rip); goto out; }
        if (!(regs.rflags & 0x200) || !run->if_flag || !run->ready_for_interrupt_injection) { result = violation("IF=0 or not ready at the first exit after the request", regs.rip); goto out; }
        if (regs.rip < AFTER_STI) { result = violation("window reported before the sti took effect", regs.rip); goto out; }
        outcome = reason == KVM_EXIT_IRQ_WINDOW_OPEN ? 1 : 2;
        run->request_interrupt_window = 0;
        struct kvm_interrupt irq = { .irq = VECTOR };
        if (ioctl(vcpu, KVM_INTERRUPT, &irq) < 0) { perror("KVM_INTERRUPT"); goto out; }
    }
    result = violation("no verdict within 20 exits", regs.rip);
out:
    if (run != MAP_FAILED) munmap(run, mmap_size);
    if (vcpu >= 0) close(vcpu);
    munmap(mem, MEMORY);
    close(vm);
    return result;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 1;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) { perror("open /dev/kvm"); return 2; }
    int mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    int window = 0, hlt = 0, violations = 0;
    for (int i = 0; i < runs; i++) {
        int r = run_once(kvm, mmap_size);
        if (r == -2) return 2;
        if (r == 1) window++; else if (r == 2) hlt++; else violations++;
    }
    printf("runs=%d window=%d hlt=%d violations=%d", runs, window, hlt, violations);
    if (first_violation[0]) printf(" first: %s", first_violation);
    putchar('\n');
    return 0;
}
