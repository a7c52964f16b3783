namespace Ember.Cli.Tests;

/// <summary>Which `ember` a process test starts: the framework-dependent build beside the tests, or the Native AOT binary users run.</summary>
public enum EmberBuild
{
    Framework,
    NativeAot,
}
