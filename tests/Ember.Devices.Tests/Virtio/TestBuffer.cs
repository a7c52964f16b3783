namespace Ember.Devices.Tests.Virtio;

/// <summary>A buffer the test driver puts in a chain: where it is, how long, and which way it goes.</summary>
public readonly record struct TestBuffer(ulong Address, uint Length, bool Writable);
