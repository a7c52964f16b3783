namespace Ember.TestGuests.Virtio;

/// <summary>
/// A guest-side virtio-rng driver in 32-bit assembly, packaged as a multiboot kernel, on the driver every virtio test
/// guest shares (<see cref="VirtioPciDriverEmitter"/>): it finds the entropy function (1AF4:1044), sets up its one
/// queue and gathers a <see cref="VirtioEntropyGuestProgram"/>'s bytes into <see cref="VirtioEntropyGuestLayout.Buffer"/>
/// (zeroed first, so bytes the device never wrote stand out), one device-writable buffer at a time (virtio 1.2 §5.4.6).
/// It prints the count and the first bytes on COM1 (<see cref="VirtioEntropyGuestReport"/>) and ends with a
/// <see cref="VirtioGuestOutcome"/> on the debug-exit port. Boot it with the debug-exit device and at least
/// <see cref="VirtioEntropyGuestLayout.MinimumMemory"/> of RAM.
/// </summary>
public static class VirtioEntropyGuest
{
    /// <summary>virtio device type 4: the function is 1AF4:1044.</summary>
    public const ushort DeviceType = 4;

    /// <summary>The multiboot image for <paramref name="program"/>. Throws ArgumentException for a program that cannot be assembled.</summary>
    public static byte[] Build(VirtioEntropyGuestProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Problem() is { } problem)
            throw new ArgumentException($"virtio-rng guest program: {problem}", nameof(program));
        return MultibootImage.Build(a => new VirtioEntropyGuestEmitter(a, program).Emit());
    }

    /// <summary>Writes the image to a temporary file and returns its path (the caller deletes it).</summary>
    public static string WriteTemporary(VirtioEntropyGuestProgram program)
    {
        byte[] image = Build(program);
        string path = Path.Combine(Path.GetTempPath(), $"ember-virtio-rng-guest-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(path, image);
        return path;
    }
}
