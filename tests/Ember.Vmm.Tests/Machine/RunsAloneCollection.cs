namespace Ember.Vmm.Tests.Machine;

/// <summary>
/// Tests that count the whole process's descriptors, threads or resident memory: they run with no other
/// test of the assembly beside them, since another test's machines would move those counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "runs alone";
}
