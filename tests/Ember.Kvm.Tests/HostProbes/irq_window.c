/*
 * Host probe: does this KVM report KVM_EXIT_IRQ_WINDOW_OPEN?
 * A real-mode guest does cli; out 0x10; sti; a short loop; hlt. At the out exit we set
 * request_interrupt_window; a conforming KVM exits with IRQ_WINDOW_OPEN once IF=1.
 * Prints the name of the exit that follows ("irq_window_open" or "hlt" or the number).
 * Used by Ember's tests to prove a failure is the host's, not Ember's.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

int main(void)
{
    static const unsigned char code[] = {
        0xfa,             /* cli */
        0xe6, 0x10,       /* out 0x10, al */
        0xfb,             /* sti */
        0xb9, 0xc8, 0x00, /* mov cx, 200 */
        0xe2, 0xfe,       /* loop $ */
        0xf4,             /* hlt */
    };
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) { perror("open"); return 2; }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    unsigned char *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000, .userspace_addr = (unsigned long)mem };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) { perror("region"); return 2; }
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    ioctl(vcpu, KVM_GET_SREGS, &sregs);
    sregs.cs.base = 0; sregs.cs.selector = 0;
    ioctl(vcpu, KVM_SET_SREGS, &sregs);
    struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
    ioctl(vcpu, KVM_SET_REGS, &regs);
    for (int i = 0; i < 10; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) { perror("run"); return 2; }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10) {
            run->request_interrupt_window = 1;
            continue;
        }
        if (run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN) { puts("irq_window_open"); return 0; }
        if (run->exit_reason == KVM_EXIT_HLT) { puts("hlt"); return 0; }
        printf("%u\n", run->exit_reason);
        return 0;
    }
    puts("none");
    return 0;
}
