namespace Ember.Devices.Pci;

/// <summary>The bits of the Command register that Ember's functions implement (PCI Local Bus 3.0 §6.2.2).</summary>
[Flags]
public enum PciCommand : ushort
{
    None = 0,

    /// <summary>Bit 0: the function decodes its I/O BARs.</summary>
    IoSpace = 1 << 0,

    /// <summary>Bit 1: the function decodes its memory BARs.</summary>
    MemorySpace = 1 << 1,

    /// <summary>Bit 2: the function may master the bus (DMA, and MSI/MSI-X writes).</summary>
    BusMaster = 1 << 2,

    /// <summary>Bit 6: parity error response.</summary>
    ParityErrorResponse = 1 << 6,

    /// <summary>Bit 8: SERR# enable.</summary>
    SerrEnable = 1 << 8,

    /// <summary>Bit 10: the function must not assert INTx.</summary>
    InterruptDisable = 1 << 10,
}
