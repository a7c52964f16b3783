namespace Ember.Sys.Tests;

/// <summary>DESIGN.md: Ember.Sys is the bottom layer; it references no other Ember assembly.</summary>
public sealed class LayeringTests
{
    [Fact]
    public void SysReferencesNoOtherEmberAssembly()
    {
        var references = typeof(EventFd).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToArray();
        Assert.DoesNotContain(references, name => name!.StartsWith("Ember.", StringComparison.Ordinal));
        Assert.Contains("System.Runtime", references);
    }
}
