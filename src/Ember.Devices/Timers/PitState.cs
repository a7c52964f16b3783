using System.Collections.Immutable;

namespace Ember.Devices.Timers;

/// <summary>The state of a <see cref="Pit8254"/>: three counters, the IRQ0 wire and the tick it was taken at.</summary>
/// <param name="SnapshotTick">The PIT's tick when the state was taken; a restore shifts every tick by (its now − this).</param>
/// <param name="ObservedTick">Channel 0 edges up to this tick have been signalled on IRQ0.</param>
public sealed record PitState(long SnapshotTick, ImmutableArray<PitChannelState> Channels, bool Irq0Level, long ObservedTick);
