namespace Ember.Vmm.Debugging;

/// <summary>One thing the framer found: a packet (with its decoded payload) or a control byte.</summary>
internal readonly record struct GdbInput(GdbInputKind Kind, byte[] Payload)
{
    public static GdbInput Control(GdbInputKind kind) => new(kind, []);
}
