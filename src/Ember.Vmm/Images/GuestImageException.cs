namespace Ember.Vmm.Images;

/// <summary>
/// The default guest image cannot be built: an input is missing or unusable (no cloud kernel in
/// /boot, a dynamically linked busybox, a module that is neither in modules.dep nor built in, ...).
/// The message says what is wrong and, where there is one, how to fix it.
/// </summary>
public sealed class GuestImageException : Exception
{
    public GuestImageException(string message)
        : base(message)
    {
    }

    public GuestImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
