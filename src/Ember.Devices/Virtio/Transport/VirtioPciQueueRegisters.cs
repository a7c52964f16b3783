namespace Ember.Devices.Virtio.Transport;

/// <summary>One queue's registers in the common configuration structure, as the driver last wrote them.</summary>
internal sealed class VirtioPciQueueRegisters(ushort maxSize)
{
    public ushort Size = maxSize;
    public ushort MsixVector = VirtioPciLayout.NoVector;
    public bool Enabled;
    public ulong DescriptorArea;
    public ulong DriverArea;
    public ulong DeviceArea;

    public void Reset(ushort maxSize)
    {
        Size = maxSize;
        MsixVector = VirtioPciLayout.NoVector;
        Enabled = false;
        DescriptorArea = DriverArea = DeviceArea = 0;
    }
}
