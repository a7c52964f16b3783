using System.Collections.Concurrent;

namespace Ember.Sys;

/// <summary>
/// The one place Ember creates threads. Each gets a role and a name (<c>ember-{role}-{name}</c>, e.g.
/// <c>ember-vcpu-0</c>, <c>ember-timers</c>), and the live ones can be listed, so nothing runs that nobody
/// knows about. Threads are background threads: an embedding program can always exit.
/// </summary>
public static class VmmThreads
{
    private static readonly ConcurrentDictionary<Thread, ThreadRole> Live = new();

    /// <summary>Starts <paramref name="body"/> on a new named thread with the given role.</summary>
    public static Thread Start(ThreadRole role, string? name, Action body, int maxStackSize = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Thread? thread = null;
        thread = new Thread(() =>
        {
            try
            {
                body();
            }
            finally
            {
                Live.TryRemove(thread!, out _);
            }
        }, maxStackSize)
        {
            IsBackground = true,
            Name = NameFor(role, name),
        };
        Live[thread] = role;
        thread.Start();
        return thread;
    }

    /// <summary>The thread name for a role: <c>ember-vcpu-0</c>, <c>ember-timers</c>, <c>ember-device-io-net0</c>.</summary>
    public static string NameFor(ThreadRole role, string? name)
    {
        string prefix = role switch
        {
            ThreadRole.Vcpu => "ember-vcpu",
            ThreadRole.DeviceIo => "ember-device-io",
            ThreadRole.Timers => "ember-timers",
            ThreadRole.Api => "ember-api",
            ThreadRole.ConsoleInput => "ember-console-input",
            ThreadRole.Gdb => "ember-gdb",
            _ => "ember-thread",
        };
        return string.IsNullOrEmpty(name) ? prefix : $"{prefix}-{name}";
    }

    /// <summary>The Ember threads alive now, with their roles.</summary>
    public static IReadOnlyList<(string Name, ThreadRole Role)> Snapshot() =>
        [.. Live.Select(entry => (entry.Key.Name ?? "", entry.Value))];
}
