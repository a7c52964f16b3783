using Ember.Kvm;
using Ember.Vmm.Interrupts;

namespace Ember.Vmm.Tests.Interrupts;

public sealed class GsiRouteTableTests
{
    private readonly List<GsiRoutingEntry[]> _submitted = [];

    private GsiRouteTable NewTable(uint reserved = 24) => new(table => _submitted.Add(table.ToArray()), reserved);

    private static GsiRoutingEntry[] IoapicPins(uint data) =>
        [.. Enumerable.Range(0, 24).Select(pin => GsiRoutingEntry.Msi((uint)pin, 0xFEE00000, data + (uint)pin))];

    [Fact]
    public void ARedirectionEntryWriteKeepsEveryDevicesMsiRoute()
    {
        var table = NewTable();
        table.SetRoutes(IoapicPins(0x10000));
        uint gsi = table.AllocateGsi();
        table.SetMsiRoute(gsi, 0xFEE01000, 0x41);
        // The guest reprograms IOAPIC pin 4: the device's route must survive in what KVM gets.
        table.SetRoutes([GsiRoutingEntry.Msi(4, 0xFEE00000, 0x99)]);

        var last = _submitted[^1];
        Assert.Equal(25, last.Length);
        Assert.Contains(last, e => e.Gsi == gsi && e.MsiData == 0x41 && e.IrqchipOrAddressLo == 0xFEE01000);
        Assert.Contains(last, e => e.Gsi == 4 && e.MsiData == 0x99);
        Assert.Equal(last.Select(e => e.Gsi).Order(), last.Select(e => e.Gsi));
    }

    [Fact]
    public void AGsiCanCarrySeveralEntriesAndReplacingItReplacesThemAll()
    {
        var table = NewTable();
        table.SetRoutes([GsiRoutingEntry.Irqchip(3, 0, 3), GsiRoutingEntry.Irqchip(3, 2, 3)]);
        Assert.Equal(2, _submitted[^1].Count(e => e.Gsi == 3));
        table.SetRoutes([GsiRoutingEntry.Irqchip(3, 2, 3)]);
        Assert.Single(_submitted[^1], e => e.Gsi == 3);
    }

    [Fact]
    public void DynamicGsisStartAboveTheReservedPinsAndFreedOnesAreReused()
    {
        var table = NewTable(reserved: 24);
        uint first = table.AllocateGsi(), second = table.AllocateGsi();
        Assert.Equal(24u, first);
        Assert.Equal(25u, second);
        table.SetMsiRoute(first, 0xFEE00000, 0x30);
        table.FreeGsi(first);
        Assert.DoesNotContain(_submitted[^1], e => e.Gsi == first);
        Assert.Equal(first, table.AllocateGsi());
        Assert.Equal(26u, table.AllocateGsi());
    }

    [Fact]
    public void FreeingAGsiThatWasNotAllocatedIsRefused()
    {
        var table = NewTable();
        Assert.Throws<ArgumentException>(() => table.FreeGsi(3));      // an IOAPIC pin
        Assert.Throws<ArgumentException>(() => table.FreeGsi(100));    // never handed out
        uint gsi = table.AllocateGsi();
        table.FreeGsi(gsi);
        Assert.Throws<ArgumentException>(() => table.FreeGsi(gsi));    // twice
    }

    [Fact]
    public void WhenKvmsTableIsFullAllocationFailsWithAClearMessage()
    {
        var table = NewTable(reserved: GsiRouteTable.MaxGsi - 2);
        table.AllocateGsi();
        table.AllocateGsi();
        var error = Assert.Throws<InvalidOperationException>(() => table.AllocateGsi());
        Assert.Contains("GSIs for message-signalled interrupts are in use", error.Message);
    }

    [Fact]
    public void RemovingARouteSubmitsOnlyWhenSomethingChanged()
    {
        var table = NewTable();
        table.SetMsiRoute(30, 0xFEE00000, 0x31);
        long before = table.Submissions;
        table.RemoveRoute(31);
        Assert.Equal(before, table.Submissions);
        table.RemoveRoute(30);
        Assert.Equal(before + 1, table.Submissions);
        Assert.Empty(_submitted[^1]);
    }

    [Fact]
    public void TheKernelModeTableStartsWithKvmsDefaultPinRoutes()
    {
        var table = NewTable();
        table.SetRoutes(KernelInterruptController.DefaultRoutes());
        uint gsi = table.AllocateGsi();
        table.SetMsiRoute(gsi, 0xFEE00000, 0x45);
        var last = _submitted[^1];
        // PIC pins for GSI 0-15, IOAPIC pins for 0-23 except the cascade, plus the MSI.
        Assert.Equal(16 + 23 + 1, last.Length);
        Assert.Contains(last, e => e.Gsi == 0 && e.Type == GsiRoutingEntry.TypeIrqchip && e.IrqchipOrAddressLo == IrqchipState.IoApic && e.PinOrAddressHi == 2);
    }
}
