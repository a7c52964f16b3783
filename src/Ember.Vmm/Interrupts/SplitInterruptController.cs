using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Timers;
using Ember.Kvm;
using Ember.Vmm.Cpu;
using Ember.Vmm.Machine;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// KVM_CAP_SPLIT_IRQCHIP: the LAPICs stay in the kernel, the IOAPIC, the 8259A pair and the 8254 PIT
/// live here. IOAPIC pin <i>i</i> is GSI <i>i</i>, an MSI route rewritten on every redirection-entry
/// change and fired through an irqfd; level EOIs come back as KVM_EXIT_IOAPIC_EOI. ISA IRQ <i>n</i>
/// drives PIC input <i>n</i> and IOAPIC pin <i>n</i> (IRQ0 pin 2, the MADT's interrupt source override),
/// and the PIC's INT reaches vCPU 0's LINT0 (ExtINT) through KVM_INTERRUPT.
/// <para>
/// Threat model: the guest programs the IOAPIC, PIC and PIT freely; each is a bounded state machine.
/// An IOAPIC entry can aim any vector and delivery mode at any APIC of this VM, nothing beyond it; a
/// level pin EOI'd while still asserted is re-delivered at most <see cref="StormThreshold"/> times in a
/// row before a host timer paces it, so a guest cannot pin a host thread in an EOI loop. A PIC request
/// the guest never lets in (IF clear, LINT0 masked) costs one vCPU kick per millisecond while it waits.
/// </para>
/// </summary>
public sealed class SplitInterruptController : IInterruptController
{
    /// <summary>GSIs reserved for the IOAPIC (KVM_CAP_SPLIT_IRQCHIP argument): one per pin, 82093AA §2.</summary>
    public const uint ReservedIoapicRoutes = IoApic.PinCount;

    /// <summary>
    /// Back-to-back re-deliveries of a level pin still asserted at its EOI before the storm guard defers it.
    /// A device that keeps its line up through a thousand EOIs is not being serviced; a real workload
    /// drops the line when its handler reads the device's status.
    /// </summary>
    public const int StormThreshold = 1000;

    /// <summary>How long a deferred level pin waits before it is tried again: long enough for the guest to run.</summary>
    public static readonly TimeSpan StormRetryDelay = TimeSpan.FromMilliseconds(4);

    /// <summary>ISA IRQ 2 is the PIC cascade, never a device line; IOAPIC pin 2 belongs to IRQ0.</summary>
    private const int CascadeIrq = DualPic.CascadeIrq;

    /// <summary>The MADT's override sends ISA IRQ0 (the PIT) to IOAPIC pin 2.</summary>
    private const int PitIoapicPin = 2;

    private readonly VirtualMachine _vm;
    private readonly IoApicMsiRoutes _routes;
    private readonly LegacyChipset _chips;
    private readonly PicInterruptInjector _injector;
    private readonly LoopTimer _stormTimer;
    private readonly IInterruptLine[] _lines = new IInterruptLine[IoApic.PinCount];
    private long _ioapicEoiExits;
    private readonly Lock _resampleLock = new();
    private EventFd[][] _resampleFds = new EventFd[IoApic.PinCount][];

    /// <summary>KVM's GSI routing table: the IOAPIC's 24 pins, then every MSI vector.</summary>
    internal GsiRouteTable Routes { get; }

    public SplitInterruptController(VirtualMachine vm, MicroVm machine, EventLoop timers)
    {
        _vm = vm;
        Routes = new GsiRouteTable(vm.SetGsiRouting, ReservedIoapicRoutes);
        _routes = new IoApicMsiRoutes(vm, Routes);
        IoApic = new IoApic(_routes, IoApicVersion.WithEoiRegister, StormThreshold);
        var pic = new DualPic();
        for (int irq = 0; irq < IoApic.PinCount; irq++)
            _lines[irq] = IsaWire(pic, irq);
        _chips = new LegacyChipset(pic, _lines[Layout.PitIrq], timers);
        _injector = new PicInterruptInjector(pic, machine.WakeHalted, () => machine.StopRequested, timers);
        _stormTimer = new LoopTimer(timers, IoApic.RetryDeferred);
        IoApic.DeliveryDeferred += _ => _stormTimer.ArmIfIdle(StormRetryDelay);
        for (int pin = 0; pin < _resampleFds.Length; pin++)
            _resampleFds[pin] = [];
        IoApic.LevelEoi += SignalResample;
    }

    /// <summary>
    /// Emulated irqfd resampling for a level-triggered device line. With a split irqchip KVM never
    /// signals an irqfd's resamplefd (the IOAPIC is not in the kernel), so Ember signals
    /// <paramref name="resample"/> itself whenever the guest EOIs a level interrupt on the IOAPIC pin
    /// that ISA line <paramref name="irq"/> reaches: the device then re-checks its condition and
    /// re-asserts or drops the line.
    /// </summary>
    public void RegisterResampleFd(int irq, EventFd resample)
    {
        ArgumentNullException.ThrowIfNull(resample);
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, IoApic.PinCount);
        int pin = irq == Layout.PitIrq ? PitIoapicPin : irq;
        lock (_resampleLock)
            Volatile.Write(ref _resampleFds[pin], [.. _resampleFds[pin], resample]);
    }

    /// <summary>Resample notifications sent (one per registered fd per level EOI).</summary>
    public long ResampleSignals => Interlocked.Read(ref _resampleSignals);

    private long _resampleSignals;

    private void SignalResample(int pin)
    {
        if ((uint)pin >= (uint)_resampleFds.Length)
            return;
        foreach (var fd in Volatile.Read(ref _resampleFds[pin]))
        {
            fd.Signal();
            Interlocked.Increment(ref _resampleSignals);
        }
    }

    public IrqchipMode Mode => IrqchipMode.Split;

    /// <summary>True: the PIC's ExtINT is injected from user space on vCPU 0 (LAPIC HLT stays in the kernel).</summary>
    public bool InjectsFromUserSpace => true;

    public IoApic IoApic { get; }

    public DualPic Pic => _chips.Pic;

    public Pit8254 Pit => _chips.TimedPit.Pit;

    /// <summary>KVM_EXIT_IOAPIC_EOI exits handled (EOIs of level-triggered IOAPIC vectors by the in-kernel LAPICs).</summary>
    public long IoapicEoiExits => Interlocked.Read(ref _ioapicEoiExits);

    /// <summary>KVM_SET_GSI_ROUTING calls made for guest redirection-entry changes.</summary>
    public long RouteUpdates => _routes.RouteUpdates;

    /// <summary>IOAPIC messages sent through an irqfd.</summary>
    public long IrqfdSignals => _routes.Signals;

    /// <summary>PIC vectors queued as ExtINT with KVM_INTERRUPT.</summary>
    public long ExtIntInjections => _injector.Injected;

    /// <summary>KVM_INTERRUPT answered EEXIST (an ExtINT still queued); the vector was offered again later.</summary>
    public long ExtIntRetries => _injector.AlreadyQueued;

    /// <summary>Host timer expiries of the PIT.</summary>
    public long PitTimerExpiries => _chips.TimedPit.TimerExpiries;

    public void CreateBeforeVcpus()
    {
        _vm.EnableSplitIrqchip(ReservedIoapicRoutes);
        _routes.Install(IoApic);
    }

    public void ConfigureVcpu(VirtualCpu vcpu)
    {
        // LINT0 = ExtINT (the PIC), LINT1 = NMI, as firmware leaves them (MP spec §5.1, virtual wire mode).
        VcpuInitializer.ConfigureLapicLintPins(vcpu);
        _injector.Attach(vcpu);
    }

    public void RegisterDevices(DeviceBus pio, DeviceBus mmio)
    {
        _chips.Register(pio);
        mmio.Register(Layout.IoApicBase, Layout.IoApicSize, IoApic);
    }

    public IInterruptLine IsaLine(int irq) => _lines[irq];

    public void Start() => _chips.Start();

    public void OnIoapicEoi(byte vector)
    {
        Interlocked.Increment(ref _ioapicEoiExits);
        IoApic.EndOfInterrupt(vector);
    }

    public void BeforeRun(VirtualCpu vcpu) => _injector.BeforeRun(vcpu);

    public bool HasPendingInterrupt(VirtualCpu vcpu) => _injector.HasInterruptFor(vcpu);

    public bool DeliverLint1Nmi(VirtualCpu vcpu) => KernelInterruptController.DeliverThroughLint1(vcpu);

    /// <summary>
    /// ISA IRQ <paramref name="irq"/>: IRQ0 reaches PIC input 0 and IOAPIC pin 2; IRQ2 (the cascade) reaches
    /// nothing a device could use; IRQ 1, 3–15 reach both PIC input n and IOAPIC pin n; GSIs 16–23 only the IOAPIC.
    /// </summary>
    private IInterruptLine IsaWire(DualPic pic, int irq) => irq switch
    {
        0 => new FanOutInterruptLine(pic.GetLine(0), IoApic.GetPin(PitIoapicPin)),
        CascadeIrq => UnconnectedInterruptLine.Instance,
        < DualPic.IrqCount => new FanOutInterruptLine(pic.GetLine(irq), IoApic.GetPin(irq)),
        _ => IoApic.GetPin(irq),
    };

    public IMsiVectorGroup CreateMsiVectors(int count, IInterruptLine intxFallback) => new IrqfdMsiVectorGroup(_vm, Routes, count);

    public void Dispose()
    {
        // Timers first: their callbacks reach the irqfds and kick vCPUs.
        _chips.Dispose();
        _injector.Dispose();
        _stormTimer.Dispose();
        _routes.Dispose();
    }
}
