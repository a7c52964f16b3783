namespace Ember.Kvm;

/// <summary>
/// Where and on what an ioeventfd fires: a guest write of <see cref="Length"/> bytes at
/// <see cref="Address"/> (0 = any length, with KVM_CAP_IOEVENTFD_ANY_LENGTH), optionally only when
/// the value equals <see cref="Datamatch"/>. The same registration deassigns it.
/// </summary>
public readonly record struct IoEventRegistration(IoEventAddressSpace Space, ulong Address, uint Length, ulong? Datamatch = null)
{
    public static IoEventRegistration Pio(ushort port, uint length, ulong? datamatch = null) =>
        new(IoEventAddressSpace.Pio, port, length, datamatch);

    public static IoEventRegistration Mmio(ulong address, uint length, ulong? datamatch = null) =>
        new(IoEventAddressSpace.Mmio, address, length, datamatch);
}
