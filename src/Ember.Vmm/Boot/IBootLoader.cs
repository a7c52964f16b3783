using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Loads one kind of kernel image into guest memory and says how to enter it. Implementations
/// are stateless; all the guest-visible output is the memory they write and the returned entry.
/// </summary>
public interface IBootLoader
{
    BootImageFormat Format { get; }

    /// <exception cref="BootImageException">The image, initrd or command line cannot be booted in this memory.</exception>
    BootEntry Load(IGuestMemory memory, BootRequest request);
}
