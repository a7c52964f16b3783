namespace Ember.Devices.Virtio.Block;

/// <summary>The status byte at the end of every request (virtio 1.2 §5.2.6).</summary>
public enum BlockStatus : byte
{
    Ok = 0,
    IoError = 1,
    Unsupported = 2,
}
