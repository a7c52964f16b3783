namespace Ember.Devices.Pci;

/// <summary>The bits of the Status register (PCI Local Bus 3.0 §6.2.3).</summary>
[Flags]
public enum PciStatus : ushort
{
    None = 0,

    /// <summary>Bit 3 (read-only): the function's INTx is asserted.</summary>
    InterruptStatus = 1 << 3,

    /// <summary>Bit 4 (read-only): the capabilities pointer at 0x34 is valid.</summary>
    CapabilitiesList = 1 << 4,

    /// <summary>Bit 8 (write 1 to clear).</summary>
    MasterDataParityError = 1 << 8,

    /// <summary>Bit 11 (write 1 to clear).</summary>
    SignaledTargetAbort = 1 << 11,

    /// <summary>Bit 12 (write 1 to clear).</summary>
    ReceivedTargetAbort = 1 << 12,

    /// <summary>Bit 13 (write 1 to clear).</summary>
    ReceivedMasterAbort = 1 << 13,

    /// <summary>Bit 14 (write 1 to clear).</summary>
    SignaledSystemError = 1 << 14,

    /// <summary>Bit 15 (write 1 to clear).</summary>
    DetectedParityError = 1 << 15,

    /// <summary>The error bits software clears by writing 1 to them.</summary>
    WriteOneToClear = MasterDataParityError | SignaledTargetAbort | ReceivedTargetAbort | ReceivedMasterAbort
        | SignaledSystemError | DetectedParityError,
}
