using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Kvm;
using Ember.Vmm.Cpu;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// PIC, IOAPIC, PIT and LAPICs all in the kernel. Ember only routes GSIs: 0–15 reach the PIC pair
/// and the IOAPIC, 16–23 the IOAPIC alone, and ISA IRQ0 reaches IOAPIC pin 2 to match the MADT's
/// interrupt source override (the in-kernel PIT raises GSI 0).
/// </summary>
public sealed class KernelInterruptController(VirtualMachine vm) : IInterruptController
{
    private const uint IoapicPins = 24;

    /// <summary>KVM's GSI routing table: the default irqchip routes of GSIs 0–23, then every MSI vector.</summary>
    internal GsiRouteTable Routes { get; } = new(vm.SetGsiRouting, IoapicPins);

    private readonly IInterruptLine[] _lines = Enumerable.Range(0, (int)IoapicPins).Select(i => (IInterruptLine)new KvmGsiLine(vm, (uint)i)).ToArray();

    public IrqchipMode Mode => IrqchipMode.Kernel;

    public bool InjectsFromUserSpace => false;

    public void CreateBeforeVcpus()
    {
        vm.CreateIrqchip();
        vm.CreatePit2(speakerDummy: true);
        // KVM_SET_GSI_ROUTING replaces KVM's default table, so the table starts from the same pin routes.
        Routes.SetRoutes(DefaultRoutes());
    }

    internal static GsiRoutingEntry[] DefaultRoutes()
    {
        var routes = new List<GsiRoutingEntry>();
        for (uint gsi = 0; gsi < 16; gsi++)
            routes.Add(GsiRoutingEntry.Irqchip(gsi, gsi < 8 ? IrqchipState.PicMaster : IrqchipState.PicSlave, gsi % 8));
        for (uint gsi = 0; gsi < IoapicPins; gsi++)
        {
            if (gsi == 2)
                continue;  // IRQ2 is the PIC cascade; IOAPIC pin 2 is fed by GSI 0.
            routes.Add(GsiRoutingEntry.Irqchip(gsi, IrqchipState.IoApic, gsi == 0 ? 2 : gsi));
        }
        return [.. routes];
    }

    public IMsiVectorGroup CreateMsiVectors(int count, IInterruptLine intxFallback) => new IrqfdMsiVectorGroup(vm, Routes, count);

    public void ConfigureVcpu(VirtualCpu vcpu) => VcpuInitializer.ConfigureLapicLintPins(vcpu);

    public void RegisterDevices(DeviceBus pio, DeviceBus mmio)
    {
    }

    public IInterruptLine IsaLine(int irq) => _lines[irq];

    public void Start()
    {
    }

    public void OnIoapicEoi(byte vector)
    {
    }

    public void BeforeRun(VirtualCpu vcpu)
    {
    }

    public bool HasPendingInterrupt(VirtualCpu vcpu) => false;

    public bool DeliverLint1Nmi(VirtualCpu vcpu) => DeliverThroughLint1(vcpu);

    /// <summary>
    /// With an in-kernel LAPIC, KVM_NMI "queues an NMI as if LINT1 fired" without looking at LVT LINT1
    /// (api.rst, KVM_NMI): user space checks that LINT1 is unmasked with NMI delivery, as the wire would
    /// need it to be, and only then sends it. On the paused vCPU's thread.
    /// </summary>
    internal static bool DeliverThroughLint1(VirtualCpu vcpu)
    {
        if (!VcpuInitializer.Lint1DeliversNmi(vcpu.GetLapic()))
            return false;
        vcpu.Nmi();
        return true;
    }

    public void Dispose()
    {
    }
}
