namespace Ember.Devices.Legacy;

/// <summary>Snapshot of a <see cref="TestMmioBuffer"/>: all <see cref="TestMmioBuffer.Size"/> bytes.</summary>
public sealed record TestMmioBufferState(byte[] Contents);
