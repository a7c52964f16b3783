namespace Ember.Kvm.Interop;

/// <summary>
/// The Linux _IO/_IOR/_IOW/_IOWR encoding (include/uapi/asm-generic/ioctl.h): direction in
/// bits 30–31, argument size in bits 16–29, type in 8–15, number in 0–7. Sizes come from our
/// struct definitions, which a test compares against the kernel headers.
/// </summary>
internal static class IoctlNumber
{
    private const int NumberShift = 0;
    private const int TypeShift = 8;
    private const int SizeShift = 16;
    private const int DirectionShift = 30;
    private const uint DirectionNone = 0;
    private const uint DirectionWrite = 1;
    private const uint DirectionRead = 2;

    /// <summary>KVMIO, the ioctl type byte of every KVM request.</summary>
    public const uint KvmType = 0xAE;

    private static nuint Encode(uint direction, uint number, int size) =>
        (nuint)((direction << DirectionShift) | ((uint)size << SizeShift) | (KvmType << TypeShift) | (number << NumberShift));

    public static nuint Io(uint number) => Encode(DirectionNone, number, 0);
    public static nuint IoR(uint number, int size) => Encode(DirectionRead, number, size);
    public static nuint IoW(uint number, int size) => Encode(DirectionWrite, number, size);
    public static nuint IoWR(uint number, int size) => Encode(DirectionRead | DirectionWrite, number, size);
}
