using Ember.Devices.Interrupts;
using Ember.Sys;

namespace Ember.Devices.Tests.Fakes;

/// <summary>An <see cref="IMsiVectorGroup"/> that records every Update and Trigger in order.</summary>
internal sealed class RecordingMsiVectorGroup(int count) : IMsiVectorGroup
{
    public abstract record Call;

    public sealed record Updated(int Vector, MsiMessage Message, bool Masked) : Call;

    public sealed record Triggered(int Vector) : Call;

    public List<Call> Calls { get; } = [];

    public int Count => count;

    public void Trigger(int vector) => Calls.Add(new Triggered(vector));

    public void Update(int vector, MsiMessage message, bool masked) => Calls.Add(new Updated(vector, message, masked));

    public EventFd Notifier(int vector) => throw new NotSupportedException("the recording group has no eventfds");

    public void Dispose()
    {
    }
}
