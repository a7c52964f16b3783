namespace Ember.Bench.GuestVirtio;

/// <summary>A run that did not do what it was asked (the guest failed, a mark is missing, the TAP could not be set up): the benchmark stops with this message.</summary>
internal sealed class BenchFailure(string message) : Exception(message);
