using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Legacy;
using Ember.Devices.Pci;
using Ember.Kvm;
using Ember.Vmm.Acpi;
using Ember.Vmm.Devices;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Machine;
using Xunit;

namespace Ember.Vmm.Tests.Devices;

public sealed class DeviceManagerTests
{
    private static readonly MachineConfig Config = new() { KernelPath = "unused", TestDevices = true, DebugExit = true, BootTimer = true };

    [Fact]
    public void TheDsdtOfAMachinesDevicesIsTheFixedPcTableWithItsRoutes()
    {
        var devices = Machine(Config);
        devices.AddPciFunction("drive:a", TestPciFunction.WithPin(PciInterruptPin.IntA));
        devices.AddPciFunction("rng", TestPciFunction.WithPin(PciInterruptPin.IntA));

        Assert.Equal(["com1", "pci0", "pci-ecam"], devices.Devices.Where(d => d.Aml is not null).Select(d => d.Id));
        Assert.Equal(Dsdt.Encode([new(1, 5), new(2, 10)]), Dsdt.EncodeFor(devices.AmlDevices));
        var tables = AcpiTableBuilder.Build(new AcpiPlatform(1) { Devices = devices.AmlDevices });
        Assert.Equal(Dsdt.Encode([new(1, 5), new(2, 10)]), tables[Dsdt.Signature].Bytes);
    }

    [Fact]
    public void TheRegistryKnowsEachDeviceByIdWithWhatItWasGiven()
    {
        var devices = Machine(Config);
        var function = TestPciFunction.WithPin(PciInterruptPin.IntA);
        var address = devices.AddPciFunction("net:eth0", function);

        Assert.Equal(new PciAddress(0, 1, 0), address);
        Assert.Same(function, devices["net:eth0"].Device);
        Assert.Equal(address, devices["net:eth0"].PciAddress);
        Assert.Equal([(Layout.I8042DataPort, 1UL), (Layout.I8042CommandPort, 1UL)], devices["i8042"].PioRanges.Select(r => ((ushort)r.Base, r.Length)));
        Assert.Equal([(int)Layout.Com1Irq], devices["com1"].Gsis);
        Assert.IsType<BootTimerDevice>(devices["boot-timer"].Device);
        Assert.Equal(2, devices.Pci.NextSlot);
        Assert.Throws<KeyNotFoundException>(() => devices["com2"]);
        Assert.Throws<InvalidOperationException>(() => devices.AddPciFunction("net:eth0", TestPciFunction.WithPin(PciInterruptPin.IntA)));
        Assert.Equal(2, devices.Pci.NextSlot);   // the refused duplicate took no slot
    }

    [Fact]
    public void TestDevicesAreRegisteredOnlyWhenAskedFor()
    {
        var plain = Machine(new MachineConfig { KernelPath = "unused" });
        Assert.DoesNotContain(plain.Devices, d => d.Id.StartsWith("pc-testdev", StringComparison.Ordinal) || d.Id is "debug-exit" or "boot-timer");
        Assert.False(plain.Pio.TryFind(Layout.TestDeviceIrqPort, 1, out _, out _));
        Assert.Empty(plain.Resources.Pio.Used);

        var tested = Machine(Config);
        Assert.True(tested.Contains("pc-testdev-irq"));
        // The IRQ block is inside the PCI I/O space, so the allocator holds it: no I/O BAR can land there.
        Assert.Equal([(Layout.TestDeviceIrqPort, (ulong)IsaIrqLineDevice.Length)], tested.Resources.Pio.Used.Select(u => ((ushort)u.Start, u.Size)));
    }

    [Fact]
    public void EveryWiredGsiHasOneOwner()
    {
        var devices = Machine(new MachineConfig { KernelPath = "unused" });

        Assert.Equal([0UL, 1, 2, 4, 5, 8, 9, 10, 11], devices.Resources.Gsis.Used.Select(u => u.Start));
        Assert.Throws<InvalidOperationException>(() => devices.ClaimGsi("rtc", Layout.Com1Irq));
        Assert.Throws<InvalidOperationException>(() => devices.ClaimGsi("com1", Layout.PciIntxGsis[0]));
        Assert.Equal(3UL, devices.Resources.Gsis.Allocate(1));   // the lowest free one

        // A platform device on an INTx GSI makes the PCI root fail rather than share the line silently.
        var clash = new DeviceManager(Layout.OneGiB);
        clash.Add("isa-card", new IgnoredPort());
        clash.ClaimGsi("isa-card", Layout.PciIntxGsis[1]);
        Assert.Throws<InvalidOperationException>(() => clash.AddPciRoot(null));
    }

    [Fact]
    public void AFixedRangeThatOverlapsIsRefusedAndLeavesNothingBehind()
    {
        var devices = Machine(Config);
        devices.Add("second-irq-block", new IgnoredPort());

        Assert.Throws<InvalidOperationException>(() => devices.MapPio("second-irq-block", Layout.TestDeviceIrqPort + 4, 2, new IgnoredPort()));
        Assert.Throws<BusRangeException>(() => devices.MapPio("second-irq-block", Layout.Com1Port, 1, new IgnoredPort()));
        Assert.Empty(devices["second-irq-block"].PioRanges);
        Assert.Single(devices.Resources.Pio.Used);
        Assert.Throws<KeyNotFoundException>(() => devices.MapPio("unregistered", 0x3000, 1, new IgnoredPort()));
        Assert.Throws<InvalidOperationException>(() => devices.Add("com1", new IgnoredPort()));
    }

    [Fact]
    public void TheSixtyFourBitWindowStartsAboveRam()
    {
        Assert.Equal(Layout.FourGiB, new MachineResources(Layout.OneGiB).Mmio64.Start);
        Assert.Equal(Layout.FourGiB + 2 * Layout.OneGiB, new MachineResources(4 * Layout.OneGiB + 1).Mmio64.Start);   // 3 GiB low, 1 GiB + 1 high
        Assert.Equal(Layout.PciMmio32Start, new MachineResources(Layout.OneGiB).Mmio32.Allocate(0x1000, 0x1000));
        Assert.Equal([0UL], new MachineResources(Layout.OneGiB).PciSlots.Used.Select(u => u.Start));   // the host bridge
    }

    /// <summary>The platform devices and PCI bus 0 as <see cref="MachineBuilder"/> adds them, on a no-op interrupt controller.</summary>
    private static DeviceManager Machine(MachineConfig config)
    {
        var devices = new DeviceManager(config.MemorySize);
        var interrupts = new NoInterrupts();
        _ = new PlatformDevices(config, interrupts, new NoOutput(), devices, startTimestamp: 0);
        devices.AddPciRoot(interrupts.IsaLine);
        return devices;
    }

    private sealed class NoOutput : ISerialOutput
    {
        public void Write(ReadOnlySpan<byte> data)
        {
        }
    }

    /// <summary>Lines that go nowhere: these tests look at placement, not at interrupts.</summary>
    private sealed class NoInterrupts : IInterruptController
    {
        public IrqchipMode Mode => IrqchipMode.Userspace;
        public bool InjectsFromUserSpace => false;
        public void CreateBeforeVcpus() { }
        public void ConfigureVcpu(VirtualCpu vcpu) { }
        public void RegisterDevices(DeviceBus pio, DeviceBus mmio) { }
        public IInterruptLine IsaLine(int irq) => UnconnectedInterruptLine.Instance;
        public void Start() { }
        public void OnIoapicEoi(byte vector) { }
        public void BeforeRun(VirtualCpu vcpu) { }
        public bool HasPendingInterrupt(VirtualCpu vcpu) => false;
        public bool DeliverLint1Nmi(VirtualCpu vcpu) => false;
        public IMsiVectorGroup CreateMsiVectors(int count, IInterruptLine intxFallback) => throw new NotSupportedException();
        public void Dispose() { }
    }
}
