using System.Runtime.InteropServices;

namespace Ember.Memory.Tests;

/// <summary>
/// A guest-visible record laid out like a virtio split-queue descriptor (virtio 1.2 §2.7.5):
/// 16 bytes, little-endian, no padding, so its byte image is known exactly.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct SampleDescriptor
{
    public ulong Address;
    public uint Length;
    public ushort Flags;
    public ushort Next;
}
