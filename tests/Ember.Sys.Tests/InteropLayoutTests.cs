using System.Runtime.CompilerServices;
using Ember.Sys.Interop;

namespace Ember.Sys.Tests;

/// <summary>DESIGN.md principle 5: interop structs have the sizes the kernel headers give them on x86-64.</summary>
public sealed class InteropLayoutTests
{
    [Fact]
    public void StructIfReqIs40Bytes() => Assert.Equal(40, Unsafe.SizeOf<Tun.IfReq>());

    [Fact]
    public void StructSockAddrUnIs110Bytes() => Assert.Equal(110, Unsafe.SizeOf<Libc.SockAddrUn>());

    [Fact]
    public void StructIoVecIs16Bytes() => Assert.Equal(16, Unsafe.SizeOf<Libc.IoVec>());
}
