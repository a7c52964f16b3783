namespace Ember.Vmm.Images;

/// <summary>
/// The outcome of <see cref="KernelModuleResolver.Resolve"/>.
/// </summary>
/// <param name="LoadOrder">Every module to insmod, dependencies before the modules needing them, each once.</param>
/// <param name="BuiltIn">Requested names that are compiled into the kernel (modules.builtin), so need no loading.</param>
public sealed record ModuleResolution(IReadOnlyList<KernelModule> LoadOrder, IReadOnlyList<string> BuiltIn);
