namespace Ember.TestGuests.Virtio;

/// <summary>Where the virtio-rng test guest keeps its own results and the bytes it gathered, beside <see cref="VirtioGuestLayout"/>.</summary>
public static class VirtioEntropyGuestLayout
{
    /// <summary>Random bytes gathered so far (dword).</summary>
    public const uint ResultBytes = VirtioGuestLayout.DeviceResults + 0x00;
    /// <summary>Requests the device answered (dword).</summary>
    public const uint ResultRequests = VirtioGuestLayout.DeviceResults + 0x04;

    /// <summary>The bytes, in the order the device gave them: request n fills on from where request n − 1 stopped.</summary>
    public const uint Buffer = 0x40_0000;

    /// <summary>The most bytes a program may gather.</summary>
    public const uint BufferSize = 0x40_0000;

    /// <summary>How many of the first bytes the guest prints on COM1.</summary>
    public const int BytesShown = 16;

    /// <summary>RAM the guest needs: up to the end of the buffer.</summary>
    public const ulong MinimumMemory = Buffer + (ulong)BufferSize;

    /// <summary>The guest's variables.</summary>
    internal const uint Variables = VirtioGuestLayout.DeviceVariables;
}
