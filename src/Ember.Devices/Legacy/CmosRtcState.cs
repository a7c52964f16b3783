namespace Ember.Devices.Legacy;

/// <summary>
/// Snapshot of a <see cref="CmosRtc"/>: the index register, the 128 CMOS bytes (registers A
/// and B and the NVRAM; the time bytes there are unused), the guest clock's offset from the
/// host clock, and the time fields held while register B's SET bit is on (null otherwise).
/// </summary>
public sealed record CmosRtcState(byte Index, byte[] Registers, TimeSpan ClockOffset, byte[]? HeldTime);
