using System.Reflection;
using Ember.Devices.Bus;
using Xunit;

namespace Ember.Devices.Tests;

/// <summary>
/// DESIGN.md: Ember.Devices sits beside Ember.Kvm and never references it, directly or through another
/// Ember assembly; what a device needs from the OS (eventfds, fds, epoll) comes from Ember.Sys.
/// </summary>
public sealed class LayeringTests
{
    private const string KvmAssemblyName = "Ember.Kvm";

    [Fact]
    public void DevicesAssemblyDoesNotReferenceKvm()
    {
        var devices = typeof(DeviceBus).Assembly;
        var direct = devices.GetReferencedAssemblies().Select(a => a.Name).ToArray();

        Assert.DoesNotContain(KvmAssemblyName, direct);
        // The list is real, not empty: the framework is always referenced.
        Assert.Contains("System.Runtime", direct);
    }

    [Fact]
    public void NoEmberAssemblyReachableFromDevicesReferencesKvm()
    {
        var seen = new HashSet<string>();
        var pending = new Queue<Assembly>([typeof(DeviceBus).Assembly]);
        while (pending.TryDequeue(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                Assert.NotEqual(KvmAssemblyName, reference.Name);
                if (reference.Name is { } name && name.StartsWith("Ember.", StringComparison.Ordinal) && seen.Add(name))
                    pending.Enqueue(Assembly.Load(reference));
            }
        }
    }
}
