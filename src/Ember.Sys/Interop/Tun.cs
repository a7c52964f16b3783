using System.Runtime.InteropServices;

namespace Ember.Sys.Interop;

/// <summary>
/// The TUN/TAP driver's ioctl requests and flags (linux/if_tun.h) and the <c>struct ifreq</c> TUNSETIFF takes
/// (linux/if.h), in one table.
/// </summary>
internal static unsafe class Tun
{
    /// <summary>The clone device: each open file becomes one queue of a TUN/TAP interface after TUNSETIFF.</summary>
    public const string ClonePath = "/dev/net/tun";

    // _IOW('T', n, int) = direction write (1 << 30) | size 4 (<< 16) | type 'T' (0x54 << 8) | n.
    public const uint TUNSETIFF = 0x4004_54CA;      // 202
    public const uint TUNSETOFFLOAD = 0x4004_54D0;  // 208
    public const uint TUNSETVNETHDRSZ = 0x4004_54D8; // 216

    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;

    /// <summary>IFNAMSIZ: an interface name with its terminating NUL.</summary>
    public const int InterfaceNameBytes = 16;

    /// <summary>
    /// <c>struct ifreq</c>: the interface name, then a union whose first member TUNSETIFF uses as <c>short ifr_flags</c>.
    /// The union's largest member (struct ifmap, sockaddr) makes it 24 bytes, so the struct is 40.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReq
    {
        [FieldOffset(0)]
        public fixed byte Name[InterfaceNameBytes];

        [FieldOffset(16)]
        public short Flags;
    }
}
