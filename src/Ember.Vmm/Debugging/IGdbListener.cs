using System.Runtime.InteropServices;

namespace Ember.Vmm.Debugging;

/// <summary>A non-blocking listening socket for the stub: readable on <see cref="Handle"/> means <see cref="Accept"/> has one.</summary>
internal interface IGdbListener : IDisposable
{
    SafeHandle Handle { get; }

    /// <summary>Where it listens, with the real port when 0 was asked for: <c>tcp:127.0.0.1:40123</c>, <c>unix:/run/x.sock</c>.</summary>
    GdbEndpoint Endpoint { get; }

    /// <summary>The next waiting connection, or null when none is waiting.</summary>
    IGdbConnection? Accept();
}
