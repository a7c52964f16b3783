namespace Ember.Vmm.Boot;

/// <summary>
/// A kernel image, initrd or command line that cannot be booted: truncated file, bad magic,
/// unsupported protocol, or something that does not fit in guest RAM. The message is one line
/// naming what was wrong, fit for showing to the user as is.
/// </summary>
public sealed class BootImageException(string message) : Exception(message);
