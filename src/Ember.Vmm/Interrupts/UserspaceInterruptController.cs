using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Timers;
using Ember.Kvm;
using Ember.Vmm.Machine;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// No in-kernel irqchip at all: the 8259A pair and the 8254 PIT live here, the PIC's INT output reaches
/// the single vCPU through KVM_INTERRUPT when KVM says the guest can take it, and HLT exits to user space
/// (<see cref="MicroVm"/> sleeps until the PIC has something). There is no IOAPIC and no LAPIC, so ISA
/// IRQs 0–15 go to the PIC alone and GSIs 16–23 go nowhere; Linux needs <c>noapic nolapic</c>.
/// <para>
/// Threat model: the guest programs the PIC and PIT freely; both are bounded state machines, and the
/// PIC can only choose which of its own vectors the vCPU sees. A guest that keeps an interrupt pending
/// with IF clear costs one vCPU kick per <see cref="PicInterruptInjector.RetryKickInterval"/>.
/// </para>
/// </summary>
public sealed class UserspaceInterruptController : IInterruptController
{
    private readonly LegacyChipset _chips;
    private readonly PicInterruptInjector _injector;
    private readonly IInterruptLine[] _lines = new IInterruptLine[IoApic.PinCount];

    private readonly EventLoop _timers;

    public UserspaceInterruptController(MicroVm machine, EventLoop timers)
    {
        _timers = timers;
        var pic = new DualPic();
        for (int irq = 0; irq < _lines.Length; irq++)
            _lines[irq] = irq < DualPic.IrqCount ? pic.GetLine(irq) : UnconnectedInterruptLine.Instance;
        _chips = new LegacyChipset(pic, _lines[Layout.PitIrq], timers);
        _injector = new PicInterruptInjector(pic, machine.WakeHalted, () => machine.StopRequested, timers);
    }

    public IrqchipMode Mode => IrqchipMode.Userspace;

    public bool InjectsFromUserSpace => true;

    public DualPic Pic => _chips.Pic;

    public Pit8254 Pit => _chips.TimedPit.Pit;

    /// <summary>Vectors KVM_INTERRUPT accepted.</summary>
    public long KvmInterruptInjections => _injector.Injected;

    /// <summary>Entries at which an interrupt had to wait for the guest to be ready (IF clear or a vector still queued).</summary>
    public long InjectionWaits => _injector.WaitsForWindow;

    /// <summary>Vectors KVM refused for good and that were dropped.</summary>
    public long RejectedInjections => _injector.Rejected;

    /// <summary>Host timer expiries of the PIT.</summary>
    public long PitTimerExpiries => _chips.TimedPit.TimerExpiries;

    public void CreateBeforeVcpus()
    {
        // Nothing in the kernel: KVM_INTERRUPT is only accepted while KVM has no irqchip (api.rst 4.16).
    }

    public void ConfigureVcpu(VirtualCpu vcpu) => _injector.Attach(vcpu);

    public void RegisterDevices(DeviceBus pio, DeviceBus mmio) => _chips.Register(pio);

    public IInterruptLine IsaLine(int irq) => _lines[irq];

    public void Start() => _chips.Start();

    public void OnIoapicEoi(byte vector)
    {
        // There is no LAPIC to send one.
    }

    public void BeforeRun(VirtualCpu vcpu) => _injector.BeforeRun(vcpu);

    public bool HasPendingInterrupt(VirtualCpu vcpu) => _injector.HasInterruptFor(vcpu);

    /// <summary>Without a LAPIC the NMI wire goes straight to the CPU's NMI pin: KVM_NMI, no LINT1 to check.</summary>
    public bool DeliverLint1Nmi(VirtualCpu vcpu)
    {
        vcpu.Nmi();
        return true;
    }

    public IMsiVectorGroup CreateMsiVectors(int count, IInterruptLine intxFallback) => new IntxMsiVectorGroup(intxFallback, _timers, count);

    public void Dispose()
    {
        _chips.Dispose();
        _injector.Dispose();
    }
}
