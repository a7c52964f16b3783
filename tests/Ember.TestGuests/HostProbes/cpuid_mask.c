/*
 * Host probe: which CPUID features does KVM_SET_CPUID2 really hide from a guest?
 * Takes KVM_GET_SUPPORTED_CPUID, clears the bits named on the command line (each as
 * "FUNCTION:SUBLEAF:REGISTER:BIT", e.g. "1:0:ecx:23" for popcnt), sets that with KVM_SET_CPUID2,
 * runs a real-mode guest that executes CPUID for each named leaf, and prints one line per bit:
 * "FUNCTION:SUBLEAF:REGISTER:BIT offered=0|1 seen=0|1". offered: the host's KVM supports the bit;
 * seen: the guest still saw it after it was cleared. No Ember code is involved: Ember's tests compare
 * this with what Ember's CpuidMaskProbe reports, under the same mask.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define MAX_BITS 128
#define MAX_ENTRIES 256

struct bit { unsigned function, index, reg, bit; };

static int reg_number(const char *name)
{
    static const char *names[] = { "eax", "ebx", "ecx", "edx" };
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static unsigned *reg_of(struct kvm_cpuid_entry2 *e, unsigned reg)
{
    return reg == 0 ? &e->eax : reg == 1 ? &e->ebx : reg == 2 ? &e->ecx : &e->edx;
}

int main(int argc, char **argv)
{
    struct bit bits[MAX_BITS];
    int count = 0;
    for (int i = 1; i < argc && count < MAX_BITS; i++) {
        char reg[8];
        if (sscanf(argv[i], "%x:%u:%7[a-z]:%u", &bits[count].function, &bits[count].index, reg, &bits[count].bit) != 4 || reg_number(reg) < 0) {
            fprintf(stderr, "bad bit %s\n", argv[i]);
            return 2;
        }
        bits[count++].reg = (unsigned)reg_number(reg);
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) { perror("open /dev/kvm"); return 2; }
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
    cpuid->nent = MAX_ENTRIES;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) { perror("KVM_GET_SUPPORTED_CPUID"); return 2; }
    int offered[MAX_BITS];
    for (int b = 0; b < count; b++) {
        offered[b] = 0;
        for (unsigned e = 0; e < cpuid->nent; e++) {
            struct kvm_cpuid_entry2 *entry = &cpuid->entries[e];
            if (entry->function == bits[b].function && entry->index == bits[b].index) {
                offered[b] = (*reg_of(entry, bits[b].reg) >> bits[b].bit) & 1;
                *reg_of(entry, bits[b].reg) &= ~(1u << bits[b].bit);
            }
        }
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    unsigned char *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    /* One CPUID per named bit: mov eax, fn; mov ecx, subleaf; cpuid; store eax..edx at 0x800 + 16*b. */
    unsigned char *p = mem + 0x100;
    for (int b = 0; b < count; b++) {
        unsigned short result = (unsigned short)(0x800 + 16 * b);
        *p++ = 0x66; *p++ = 0xb8; memcpy(p, &bits[b].function, 4); p += 4;
        *p++ = 0x66; *p++ = 0xb9; memcpy(p, &bits[b].index, 4); p += 4;
        *p++ = 0x0f; *p++ = 0xa2;
        *p++ = 0x66; *p++ = 0xa3; memcpy(p, &result, 2); p += 2;
        unsigned short r = result + 4;
        *p++ = 0x66; *p++ = 0x89; *p++ = 0x1e; memcpy(p, &r, 2); p += 2;
        r = result + 8;
        *p++ = 0x66; *p++ = 0x89; *p++ = 0x0e; memcpy(p, &r, 2); p += 2;
        r = result + 12;
        *p++ = 0x66; *p++ = 0x89; *p++ = 0x16; memcpy(p, &r, 2); p += 2;
    }
    *p++ = 0xf4;
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000, .userspace_addr = (unsigned long)mem };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) { perror("KVM_SET_USER_MEMORY_REGION"); return 2; }
    ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &(unsigned long long){ 0xfeffc000 });
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) { perror("KVM_CREATE_VCPU"); return 2; }
    if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) { perror("KVM_SET_CPUID2"); return 2; }
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    ioctl(vcpu, KVM_GET_SREGS, &sregs);
    sregs.cs.base = sregs.ds.base = sregs.es.base = sregs.ss.base = 0;
    sregs.cs.selector = sregs.ds.selector = sregs.es.selector = sregs.ss.selector = 0;
    ioctl(vcpu, KVM_SET_SREGS, &sregs);
    struct kvm_regs regs = { .rip = 0x100, .rsp = 0xf000, .rflags = 2 };
    ioctl(vcpu, KVM_SET_REGS, &regs);
    if (ioctl(vcpu, KVM_RUN, 0) < 0) { perror("KVM_RUN"); return 2; }
    if (run->exit_reason != KVM_EXIT_HLT) { fprintf(stderr, "guest exit %u, not HLT\n", run->exit_reason); return 2; }
    static const char *reg_names[] = { "eax", "ebx", "ecx", "edx" };
    for (int b = 0; b < count; b++) {
        unsigned value;
        memcpy(&value, mem + 0x800 + 16 * b + 4 * bits[b].reg, 4);
        printf("%x:%u:%s:%u offered=%d seen=%u\n", bits[b].function, bits[b].index, reg_names[bits[b].reg], bits[b].bit, offered[b], (value >> bits[b].bit) & 1);
    }
    return 0;
}
