namespace Ember.Devices.Pci;

/// <summary>
/// Offsets of the type 0 configuration header (PCI Local Bus 3.0 §6.1, figure 6-1) and the sizes of the
/// configuration space, in one place.
/// </summary>
public static class PciConfigRegisters
{
    /// <summary>A PCI Express function's configuration space (PCIe base spec §7.2.2): 4 KiB.</summary>
    public const int ExtendedSize = 4096;

    /// <summary>The conventional PCI part; standard capabilities live below this.</summary>
    public const int ConventionalSize = 256;

    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int ProgrammingInterface = 0x09;
    public const int SubClass = 0x0A;
    public const int BaseClass = 0x0B;
    public const int CacheLineSize = 0x0C;
    public const int LatencyTimer = 0x0D;
    public const int HeaderType = 0x0E;
    public const int Bist = 0x0F;

    /// <summary>Base Address Register 0; BAR <c>n</c> is at <c>Bar0 + 4 n</c>.</summary>
    public const int Bar0 = 0x10;

    /// <summary>A type 0 header has six BARs.</summary>
    public const int BarCount = 6;

    public const int CardbusCisPointer = 0x28;
    public const int SubsystemVendorId = 0x2C;
    public const int SubsystemId = 0x2E;
    public const int ExpansionRomBase = 0x30;
    public const int CapabilitiesPointer = 0x34;
    public const int InterruptLine = 0x3C;
    public const int InterruptPin = 0x3D;
    public const int MinGrant = 0x3E;
    public const int MaxLatency = 0x3F;

    /// <summary>The first byte after the type 0 header, where capabilities may start (§6.7).</summary>
    public const int HeaderEnd = 0x40;

    /// <summary>The offset of BAR <paramref name="index"/>.</summary>
    public static int BarOffset(int index) => Bar0 + 4 * index;
}
