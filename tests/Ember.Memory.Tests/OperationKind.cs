namespace Ember.Memory.Tests;

/// <summary>Which <see cref="IGuestMemory"/> member a generated <see cref="MemoryOperation"/> calls.</summary>
public enum OperationKind
{
    IsValidRange,
    TryRead,
    Read,
    TryWrite,
    Write,
    GetSpan,
    ReadObject,
    WriteObject,
}
