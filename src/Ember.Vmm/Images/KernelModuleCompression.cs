namespace Ember.Vmm.Images;

/// <summary>How a module file is compressed, as its extension says (kmod and depmod go by the extension too).</summary>
public enum KernelModuleCompression
{
    /// <summary>A plain ELF ".ko".</summary>
    None,

    /// <summary>".ko.gz".</summary>
    Gzip,

    /// <summary>".ko.xz" (Debian from 6.x kernels in trixie onwards).</summary>
    Xz,

    /// <summary>".ko.zst".</summary>
    Zstd,
}
