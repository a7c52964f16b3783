using System.Runtime.InteropServices;
using Ember.Sys;

namespace Ember.Vmm.Debugging;

/// <summary>One debugger's non-blocking stream socket.</summary>
internal interface IGdbConnection : IDisposable
{
    SafeHandle Handle { get; }

    SocketIoResult Read(Span<byte> buffer);

    SocketIoResult Write(ReadOnlySpan<byte> data);
}
