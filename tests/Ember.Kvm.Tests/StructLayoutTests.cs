using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Ember.Kvm.Interop;

namespace Ember.Kvm.Tests;

/// <summary>
/// Compiles a C program against the machine's &lt;linux/kvm.h&gt; and compares every struct size, field
/// offset, ioctl number and capability number Ember uses with the kernel's own definitions.
/// </summary>
public sealed class StructLayoutTests
{
    private static IEnumerable<(string CExpression, long Ours)> Facts()
    {
        yield return ("sizeof(struct kvm_regs)", Unsafe.SizeOf<Registers>());
        yield return ("offsetof(struct kvm_regs, rip)", Offset<Registers>(nameof(Registers.Rip)));
        yield return ("offsetof(struct kvm_regs, rflags)", Offset<Registers>(nameof(Registers.Rflags)));
        yield return ("sizeof(struct kvm_segment)", Unsafe.SizeOf<Segment>());
        yield return ("offsetof(struct kvm_segment, selector)", Offset<Segment>(nameof(Segment.Selector)));
        yield return ("offsetof(struct kvm_segment, unusable)", Offset<Segment>(nameof(Segment.Unusable)));
        yield return ("sizeof(struct kvm_dtable)", Unsafe.SizeOf<DescriptorTable>());
        yield return ("sizeof(struct kvm_sregs)", Unsafe.SizeOf<SpecialRegisters>());
        yield return ("offsetof(struct kvm_sregs, gdt)", Offset<SpecialRegisters>(nameof(SpecialRegisters.Gdt)));
        yield return ("offsetof(struct kvm_sregs, cr0)", Offset<SpecialRegisters>(nameof(SpecialRegisters.Cr0)));
        yield return ("offsetof(struct kvm_sregs, efer)", Offset<SpecialRegisters>(nameof(SpecialRegisters.Efer)));
        yield return ("offsetof(struct kvm_sregs, apic_base)", Offset<SpecialRegisters>(nameof(SpecialRegisters.ApicBase)));
        yield return ("offsetof(struct kvm_sregs, interrupt_bitmap)", Offset<SpecialRegisters>(nameof(SpecialRegisters.InterruptBitmap)));
        yield return ("sizeof(struct kvm_sregs2)", Unsafe.SizeOf<SpecialRegisters2>());
        yield return ("offsetof(struct kvm_sregs2, efer)", Offset<SpecialRegisters2>(nameof(SpecialRegisters2.Efer)));
        yield return ("offsetof(struct kvm_sregs2, flags)", Offset<SpecialRegisters2>(nameof(SpecialRegisters2.Flags)));
        yield return ("offsetof(struct kvm_sregs2, pdptrs)", Offset<SpecialRegisters2>(nameof(SpecialRegisters2.Pdptrs)));
        yield return ("KVM_SREGS2_FLAGS_PDPTRS_VALID", (long)SpecialRegisters2.FlagPdptrsValid);
        yield return ("sizeof(struct kvm_fpu)", Unsafe.SizeOf<FpuState>());
        yield return ("offsetof(struct kvm_fpu, fcw)", Offset<FpuState>(nameof(FpuState.Fcw)));
        yield return ("offsetof(struct kvm_fpu, last_ip)", Offset<FpuState>(nameof(FpuState.LastIp)));
        yield return ("offsetof(struct kvm_fpu, xmm)", Offset<FpuState>(nameof(FpuState.Xmm)));
        yield return ("offsetof(struct kvm_fpu, mxcsr)", Offset<FpuState>(nameof(FpuState.Mxcsr)));
        yield return ("sizeof(struct kvm_msr_entry)", Unsafe.SizeOf<MsrEntry>());
        yield return ("offsetof(struct kvm_msr_entry, data)", Offset<MsrEntry>(nameof(MsrEntry.Data)));
        yield return ("sizeof(struct kvm_msrs)", Unsafe.SizeOf<VariableArrayHeader>());
        yield return ("sizeof(struct kvm_cpuid2)", Unsafe.SizeOf<VariableArrayHeader>());
        yield return ("sizeof(struct kvm_irq_routing)", Unsafe.SizeOf<VariableArrayHeader>());
        yield return ("sizeof(struct kvm_cpuid_entry2)", Unsafe.SizeOf<CpuidEntry>());
        yield return ("offsetof(struct kvm_cpuid_entry2, eax)", Offset<CpuidEntry>(nameof(CpuidEntry.Eax)));
        yield return ("offsetof(struct kvm_cpuid_entry2, edx)", Offset<CpuidEntry>(nameof(CpuidEntry.Edx)));
        yield return ("sizeof(struct kvm_lapic_state)", Unsafe.SizeOf<LapicState>());
        yield return ("sizeof(struct kvm_xcrs)", Unsafe.SizeOf<ExtendedControlRegisters>());
        yield return ("sizeof(struct kvm_mp_state)", sizeof(uint));
        yield return ("sizeof(struct kvm_vcpu_events)", Unsafe.SizeOf<VcpuEvents>());
        yield return ("offsetof(struct kvm_vcpu_events, interrupt)", Offset<VcpuEvents>(nameof(VcpuEvents.InterruptInjected)));
        yield return ("offsetof(struct kvm_vcpu_events, nmi)", Offset<VcpuEvents>(nameof(VcpuEvents.NmiInjected)));
        yield return ("offsetof(struct kvm_vcpu_events, sipi_vector)", Offset<VcpuEvents>(nameof(VcpuEvents.SipiVector)));
        yield return ("offsetof(struct kvm_vcpu_events, flags)", Offset<VcpuEvents>(nameof(VcpuEvents.Flags)));
        yield return ("offsetof(struct kvm_vcpu_events, smi)", Offset<VcpuEvents>(nameof(VcpuEvents.Smm)));
        yield return ("offsetof(struct kvm_vcpu_events, triple_fault)", Offset<VcpuEvents>(nameof(VcpuEvents.TripleFaultPending)));
        yield return ("offsetof(struct kvm_vcpu_events, exception_has_payload)", Offset<VcpuEvents>(nameof(VcpuEvents.ExceptionHasPayload)));
        yield return ("offsetof(struct kvm_vcpu_events, exception_payload)", Offset<VcpuEvents>(nameof(VcpuEvents.ExceptionPayload)));
        yield return ("sizeof(struct kvm_translation)", Unsafe.SizeOf<Translation>());
        yield return ("offsetof(struct kvm_translation, physical_address)", Offset<Translation>(nameof(Translation.PhysicalAddress)));
        yield return ("offsetof(struct kvm_translation, valid)", Offset<Translation>(nameof(Translation.Valid)));
        yield return ("offsetof(struct kvm_translation, usermode)", Offset<Translation>(nameof(Translation.UserMode)));
        yield return ("sizeof(struct kvm_guest_debug)", Unsafe.SizeOf<GuestDebug>());
        yield return ("offsetof(struct kvm_guest_debug, arch)", Offset<GuestDebug>(nameof(GuestDebug.DebugRegisters)));
        yield return ("sizeof(struct kvm_irqchip)", Unsafe.SizeOf<IrqchipState>());
        yield return ("offsetof(struct kvm_irqchip, chip)", Offset<IrqchipState>(nameof(IrqchipState.Data)));
        yield return ("sizeof(struct kvm_clock_data)", Unsafe.SizeOf<ClockData>());
        yield return ("offsetof(struct kvm_clock_data, realtime)", Offset<ClockData>(nameof(ClockData.Realtime)));
        yield return ("offsetof(struct kvm_clock_data, host_tsc)", Offset<ClockData>(nameof(ClockData.HostTsc)));
        yield return ("sizeof(struct kvm_irq_routing_entry)", Unsafe.SizeOf<GsiRoutingEntry>());
        yield return ("offsetof(struct kvm_irq_routing_entry, type)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.Type)));
        yield return ("offsetof(struct kvm_irq_routing_entry, flags)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.Flags)));
        yield return ("offsetof(struct kvm_irq_routing_entry, u.msi.address_lo)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.IrqchipOrAddressLo)));
        yield return ("offsetof(struct kvm_irq_routing_entry, u.irqchip.pin)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.PinOrAddressHi)));
        yield return ("offsetof(struct kvm_irq_routing_entry, u.msi.data)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.MsiData)));
        yield return ("offsetof(struct kvm_irq_routing_entry, u.msi.devid)", Offset<GsiRoutingEntry>(nameof(GsiRoutingEntry.MsiDevId)));
        yield return ("KVM_IRQ_ROUTING_IRQCHIP", GsiRoutingEntry.TypeIrqchip);
        yield return ("KVM_IRQ_ROUTING_MSI", GsiRoutingEntry.TypeMsi);
        yield return ("sizeof(struct kvm_userspace_memory_region)", Unsafe.SizeOf<UserspaceMemoryRegion>());
        yield return ("offsetof(struct kvm_userspace_memory_region, userspace_addr)", Offset<UserspaceMemoryRegion>(nameof(UserspaceMemoryRegion.UserspaceAddr)));
        yield return ("KVM_MEM_READONLY", UserspaceMemoryRegion.FlagReadOnly);
        yield return ("KVM_MEM_LOG_DIRTY_PAGES", UserspaceMemoryRegion.FlagLogDirtyPages);
        yield return ("sizeof(struct kvm_ioeventfd)", Unsafe.SizeOf<IoEventFdRequest>());
        yield return ("offsetof(struct kvm_ioeventfd, addr)", Offset<IoEventFdRequest>(nameof(IoEventFdRequest.Addr)));
        yield return ("offsetof(struct kvm_ioeventfd, len)", Offset<IoEventFdRequest>(nameof(IoEventFdRequest.Len)));
        yield return ("offsetof(struct kvm_ioeventfd, fd)", Offset<IoEventFdRequest>(nameof(IoEventFdRequest.Fd)));
        yield return ("offsetof(struct kvm_ioeventfd, flags)", Offset<IoEventFdRequest>(nameof(IoEventFdRequest.Flags)));
        yield return ("KVM_IOEVENTFD_FLAG_DATAMATCH", IoEventFdRequest.FlagDatamatch);
        yield return ("KVM_IOEVENTFD_FLAG_PIO", IoEventFdRequest.FlagPio);
        yield return ("KVM_IOEVENTFD_FLAG_DEASSIGN", IoEventFdRequest.FlagDeassign);
        yield return ("sizeof(struct kvm_irqfd)", Unsafe.SizeOf<IrqFdRequest>());
        yield return ("offsetof(struct kvm_irqfd, resamplefd)", Offset<IrqFdRequest>(nameof(IrqFdRequest.ResampleFd)));
        yield return ("KVM_IRQFD_FLAG_DEASSIGN", IrqFdRequest.FlagDeassign);
        yield return ("KVM_IRQFD_FLAG_RESAMPLE", IrqFdRequest.FlagResample);
        yield return ("sizeof(struct kvm_irq_level)", Unsafe.SizeOf<IrqLevel>());
        yield return ("sizeof(struct kvm_msi)", Unsafe.SizeOf<MsiRequest>());
        yield return ("offsetof(struct kvm_msi, devid)", Offset<MsiRequest>(nameof(MsiRequest.DevId)));
        yield return ("sizeof(struct kvm_enable_cap)", Unsafe.SizeOf<EnableCapRequest>());
        yield return ("offsetof(struct kvm_enable_cap, args)", Offset<EnableCapRequest>(nameof(EnableCapRequest.Args)));
        yield return ("sizeof(struct kvm_pit_config)", Unsafe.SizeOf<PitConfig>());
        yield return ("KVM_PIT_SPEAKER_DUMMY", PitConfig.FlagSpeakerDummy);
        yield return ("sizeof(struct kvm_interrupt)", sizeof(uint));

        // kvm_run: the header fields and each exit-union member Ember decodes.
        yield return ("offsetof(struct kvm_run, request_interrupt_window)", KvmRunLayout.RequestInterruptWindow);
        yield return ("offsetof(struct kvm_run, immediate_exit)", KvmRunLayout.ImmediateExit);
        yield return ("offsetof(struct kvm_run, exit_reason)", KvmRunLayout.ExitReason);
        yield return ("offsetof(struct kvm_run, ready_for_interrupt_injection)", KvmRunLayout.ReadyForInterruptInjection);
        yield return ("offsetof(struct kvm_run, if_flag)", KvmRunLayout.IfFlag);
        yield return ("offsetof(struct kvm_run, flags)", KvmRunLayout.Flags);
        yield return ("offsetof(struct kvm_run, cr8)", KvmRunLayout.Cr8);
        yield return ("offsetof(struct kvm_run, apic_base)", KvmRunLayout.ApicBase);
        yield return ("offsetof(struct kvm_run, io.direction)", KvmRunLayout.IoDirection);
        yield return ("offsetof(struct kvm_run, io.size)", KvmRunLayout.IoSize);
        yield return ("offsetof(struct kvm_run, io.port)", KvmRunLayout.IoPort);
        yield return ("offsetof(struct kvm_run, io.count)", KvmRunLayout.IoCount);
        yield return ("offsetof(struct kvm_run, io.data_offset)", KvmRunLayout.IoDataOffset);
        yield return ("offsetof(struct kvm_run, mmio.phys_addr)", KvmRunLayout.MmioPhysAddr);
        yield return ("offsetof(struct kvm_run, mmio.data)", KvmRunLayout.MmioData);
        yield return ("offsetof(struct kvm_run, mmio.len)", KvmRunLayout.MmioLen);
        yield return ("offsetof(struct kvm_run, mmio.is_write)", KvmRunLayout.MmioIsWrite);
        yield return ("offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason)", KvmRunLayout.FailEntryReason);
        yield return ("offsetof(struct kvm_run, fail_entry.cpu)", KvmRunLayout.FailEntryCpu);
        yield return ("offsetof(struct kvm_run, internal.suberror)", KvmRunLayout.InternalSuberror);
        yield return ("offsetof(struct kvm_run, internal.ndata)", KvmRunLayout.InternalNData);
        yield return ("offsetof(struct kvm_run, internal.data)", KvmRunLayout.InternalData);
        yield return ("offsetof(struct kvm_run, system_event.type)", KvmRunLayout.SystemEventType);
        yield return ("offsetof(struct kvm_run, system_event.ndata)", KvmRunLayout.SystemEventNData);
        yield return ("offsetof(struct kvm_run, system_event.data)", KvmRunLayout.SystemEventData);
        yield return ("offsetof(struct kvm_run, eoi.vector)", KvmRunLayout.EoiVector);
        yield return ("offsetof(struct kvm_run, debug.arch.exception)", KvmRunLayout.DebugException);
        yield return ("offsetof(struct kvm_run, debug.arch.pc)", KvmRunLayout.DebugPc);
        yield return ("offsetof(struct kvm_run, debug.arch.dr6)", KvmRunLayout.DebugDr6);
        yield return ("offsetof(struct kvm_run, debug.arch.dr7)", KvmRunLayout.DebugDr7);
        yield return ("offsetof(struct kvm_run, hw.hardware_exit_reason)", KvmRunLayout.HardwareExitReason);
        yield return ("offsetof(struct kvm_run, ex.error_code)", KvmRunLayout.ExceptionErrorCode);
        yield return ("offsetof(struct kvm_run, kvm_valid_regs)", KvmRunLayout.ValidRegs);
        yield return ("offsetof(struct kvm_run, kvm_dirty_regs)", KvmRunLayout.DirtyRegs);

        foreach (var (name, number) in KvmIoctls.All())
            yield return ($"(long)(unsigned long){name}", (long)number);

        foreach (var capability in Enum.GetValues<KvmCapability>())
            yield return ($"KVM_CAP_{CapabilityMacro(capability)}", (long)capability);

        foreach (var reason in Enum.GetValues<VcpuExitReason>())
            yield return ($"KVM_EXIT_{ExitMacro(reason)}", (long)reason);

        yield return ("KVM_EXIT_IO_IN", (long)IoDirection.In);
        yield return ("KVM_EXIT_IO_OUT", (long)IoDirection.Out);
        yield return ("KVM_SYSTEM_EVENT_SHUTDOWN", (long)SystemEventType.Shutdown);
        yield return ("KVM_SYSTEM_EVENT_RESET", (long)SystemEventType.Reset);
        yield return ("KVM_SYSTEM_EVENT_CRASH", (long)SystemEventType.Crash);
        yield return ("KVM_INTERNAL_ERROR_EMULATION", (long)InternalErrorKind.Emulation);
        yield return ("KVM_MP_STATE_RUNNABLE", (long)MpState.Runnable);
        yield return ("KVM_MP_STATE_INIT_RECEIVED", (long)MpState.InitReceived);
        yield return ("KVM_MP_STATE_HALTED", (long)MpState.Halted);
        yield return ("KVM_MP_STATE_SIPI_RECEIVED", (long)MpState.SipiReceived);
        yield return ("KVM_CPUID_FLAG_SIGNIFCANT_INDEX", CpuidEntry.FlagSignificantIndex);
        yield return ("KVM_GUESTDBG_ENABLE", GuestDebug.Enable);
        yield return ("KVM_GUESTDBG_SINGLESTEP", GuestDebug.SingleStep);
        yield return ("KVM_GUESTDBG_USE_SW_BP", GuestDebug.UseSoftwareBreakpoints);
        yield return ("KVM_GUESTDBG_USE_HW_BP", GuestDebug.UseHardwareBreakpoints);
        yield return ("KVM_GUESTDBG_INJECT_DB", GuestDebug.InjectDebugException);
        yield return ("KVM_GUESTDBG_INJECT_BP", GuestDebug.InjectBreakpoint);
        yield return ("KVM_GUESTDBG_BLOCKIRQ", GuestDebug.BlockInterrupts);
        yield return ("KVM_VCPUEVENT_VALID_NMI_PENDING", VcpuEvents.ValidNmiPending);
        yield return ("KVM_VCPUEVENT_VALID_SIPI_VECTOR", VcpuEvents.ValidSipiVector);
        yield return ("KVM_IRQCHIP_IOAPIC", IrqchipState.IoApic);
    }

    private static long Offset<T>(string field) => Marshal.OffsetOf<T>(field).ToInt64();

    /// <summary>Maps our PascalCase names to the kernel's macro spelling where they differ beyond case.</summary>
    private static string CapabilityMacro(KvmCapability capability) => capability switch
    {
        KvmCapability.IoEventFd => "IOEVENTFD",
        KvmCapability.IoEventFdAnyLength => "IOEVENTFD_ANY_LENGTH",
        KvmCapability.IoEventFdNoLength => "IOEVENTFD_NO_LENGTH",
        KvmCapability.X2ApicApi => "X2APIC_API",
        KvmCapability.IoapicPolarityIgnored => "IOAPIC_POLARITY_IGNORED",
        _ => Macro(capability.ToString()),
    };

    private static string ExitMacro(VcpuExitReason reason) => reason switch
    {
        VcpuExitReason.Interrupted => "INTR",
        VcpuExitReason.X86ReadMsr => "X86_RDMSR",
        VcpuExitReason.X86WriteMsr => "X86_WRMSR",
        VcpuExitReason.HyperV => "HYPERV",
        _ => Macro(reason.ToString()),
    };

    /// <summary>PascalCase → UPPER_SNAKE ("IrqWindowOpen" → "IRQ_WINDOW_OPEN", "Pit2" → "PIT2").</summary>
    private static string Macro(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (i > 0 && char.IsUpper(c))
                sb.Append('_');
            sb.Append(char.ToUpperInvariant(c));
        }
        return sb.ToString();
    }

    [Fact]
    public void EveryLayoutNumberAndConstantMatchesTheKernelHeader()
    {
        Assert.SkipWhen(!File.Exists("/usr/include/linux/kvm.h"), "no kernel headers (linux-libc-dev) to compare with");
        var facts = Facts().ToList();
        var dir = Directory.CreateTempSubdirectory("ember-layout-");
        try
        {
            var source = new StringBuilder("#include <stddef.h>\n#include <stdio.h>\n#include <linux/kvm.h>\nint main(void) {\n");
            foreach (var (expression, _) in facts)
                source.Append($"  printf(\"%ld\\n\", (long)({expression}));\n");
            source.Append("  return 0;\n}\n");
            string c = Path.Combine(dir.FullName, "layout.c"), exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(c, source.ToString());
            var (compileCode, compileOut) = RunProcess("gcc", $"-o {exe} {c}");
            Assert.True(compileCode == 0, "gcc failed:\n" + compileOut);
            var (runCode, output) = RunProcess(exe, "");
            Assert.Equal(0, runCode);
            var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
            Assert.Equal(facts.Count, values.Count);
            var mismatches = facts.Zip(values)
                .Where(p => p.First.Ours != p.Second)
                .Select(p => $"{p.First.CExpression}: kernel {p.Second}, Ember {p.First.Ours}")
                .ToList();
            Assert.True(mismatches.Count == 0, "layout mismatches:\n" + string.Join("\n", mismatches));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (int ExitCode, string Output) RunProcess(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr);
    }
}
