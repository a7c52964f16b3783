using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Pci;
using Ember.Vmm.Devices;
using Xunit;

namespace Ember.Vmm.Tests.Devices;

public sealed class PciTopologyInterruptTests
{
    private readonly Dictionary<int, LevelLine> _gsis = [];
    private readonly PciTopology _pci;

    public PciTopologyInterruptTests() =>
        _pci = new PciTopology(new DeviceBus(), new DeviceBus(), new MachineResources(Layout.OneGiB), gsi => _gsis.TryGetValue(gsi, out var line) ? line : _gsis[gsi] = new LevelLine());

    [Fact]
    public void SlotsGoRoundRobinOverTheFreeIsaIrqs()
    {
        Assert.Equal([5, 10, 11, 5, 10, 11], Enumerable.Range(1, 6).Select(PciTopology.IntxGsiForSlot));
        Assert.Equal(5, PciTopology.IntxGsiForSlot(31));          // (31 - 1) % 3 == 0
        Assert.Throws<ArgumentOutOfRangeException>(() => PciTopology.IntxGsiForSlot(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PciTopology.IntxGsiForSlot(32));
        // None of the platform's own ISA IRQs (PIT, keyboard, cascade, COM1, RTC, SCI).
        Assert.Empty(Layout.PciIntxGsis.ToArray().Intersect([Layout.PitIrq, Layout.I8042KeyboardIrq, (byte)2, Layout.Com1Irq, Layout.RtcIrq, Layout.SciIrq]));
    }

    [Fact]
    public void AddingAFunctionRoutesItsPinAndPresetsInterruptLine()
    {
        var first = TestPciFunction.WithPin(PciInterruptPin.IntA);
        var noPin = TestPciFunction.WithPin(PciInterruptPin.None);
        var third = TestPciFunction.WithPin(PciInterruptPin.IntA);

        _pci.Add(first);
        _pci.Add(noPin);
        _pci.Add(third);

        Assert.Equal([new PciInterruptRoute(1, 5), new PciInterruptRoute(3, 11)], _pci.InterruptRoutes);
        Assert.Equal(5, first.Configuration.InterruptLine);
        Assert.Equal(0, noPin.Configuration.InterruptLine);
        Assert.Equal(11, third.Configuration.InterruptLine);
    }

    [Fact]
    public void TwoSlotsOnOneGsiShareAWireORedLine()
    {
        var slot1 = _pci.IntxInput(1);
        var slot4 = _pci.IntxInput(4);
        var slot2 = _pci.IntxInput(2);

        slot1.SetLevel(true);
        slot4.SetLevel(true);
        slot1.SetLevel(false);
        Assert.True(_gsis[5].Level);          // slot 4 still asserts
        Assert.False(_gsis[10].Level);
        slot2.SetLevel(true);
        Assert.True(_gsis[10].Level);
        slot4.SetLevel(false);
        Assert.False(_gsis[5].Level);
        Assert.Equal(1, _gsis[5].RisingEdges);
    }

    private sealed class LevelLine : IInterruptLine
    {
        public bool Level { get; private set; }

        public int RisingEdges { get; private set; }

        public void SetLevel(bool high)
        {
            if (high && !Level)
                RisingEdges++;
            Level = high;
        }
    }
}
