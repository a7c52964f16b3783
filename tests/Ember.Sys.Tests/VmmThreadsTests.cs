namespace Ember.Sys.Tests;

public sealed class VmmThreadsTests
{
    [Theory]
    [InlineData(ThreadRole.Vcpu, "0", "ember-vcpu-0")]
    [InlineData(ThreadRole.Timers, null, "ember-timers")]
    [InlineData(ThreadRole.DeviceIo, "net0", "ember-device-io-net0")]
    [InlineData(ThreadRole.Api, null, "ember-api")]
    [InlineData(ThreadRole.ConsoleInput, null, "ember-console-input")]
    [InlineData(ThreadRole.Gdb, null, "ember-gdb")]
    public void EachRoleHasItsOwnNamePrefix(ThreadRole role, string? name, string expected) =>
        Assert.Equal(expected, VmmThreads.NameFor(role, name));

    [Fact]
    public void AStartedThreadIsListedWithItsRoleWhileItRunsAndNotAfter()
    {
        using var release = new ManualResetEventSlim();
        var thread = VmmThreads.Start(ThreadRole.Api, "listing-test", () => release.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.True(thread.IsBackground);
        Assert.Contains(("ember-api-listing-test", ThreadRole.Api), VmmThreads.Snapshot());
        release.Set();
        thread.Join();
        Assert.DoesNotContain(VmmThreads.Snapshot(), t => t.Name == "ember-api-listing-test");
    }
}
