namespace Ember.Devices.Legacy;

/// <summary>Snapshot of an <see cref="I8042Controller"/>.</summary>
public sealed record I8042ControllerState(
    byte CommandByte,
    byte OutputPort,
    byte OutputBuffer,
    bool OutputBufferFull,
    bool OutputBufferFromAux,
    bool LastWriteWasCommand,
    byte PendingCommand);
