namespace Ember.TestGuests.Virtio;

/// <summary>
/// A guest-side virtio-pci block driver in 32-bit assembly, packaged as a multiboot kernel: it finds a
/// virtio-blk function (1AF4:1042) on PCI bus 0 through configuration mechanism #1, walks its virtio
/// capabilities, brings the device up with VERSION_1 (and the program's <see cref="VirtioBlockGuestProgram.DriverFeatures"/>),
/// sets up queue 0 (or the first <see cref="VirtioBlockGuestProgram.QueueCount"/> queues) and runs a
/// <see cref="VirtioBlockGuestProgram"/>, polling the used ring (no interrupts). It reports on COM1
/// (<see cref="VirtioBlockGuestReport"/> reads it back), leaves results in guest memory
/// (<see cref="VirtioGuestLayout.Results"/>) and ends with a <see cref="VirtioGuestOutcome"/> on the
/// debug-exit port. Boot it with the debug-exit device on and at least <see cref="VirtioBlockGuestLayout.MinimumMemory"/> of RAM.
/// The PCI and virtqueue half of the driver is the one every virtio test guest shares (<see cref="VirtioPciDriverEmitter"/>).
/// </summary>
public static class VirtioBlockGuest
{
    /// <summary>virtio device type 2: the function is 1AF4:1042.</summary>
    public const ushort DeviceType = 2;

    /// <summary>The multiboot image for <paramref name="program"/>. Throws ArgumentException for a program that cannot be assembled.</summary>
    public static byte[] Build(VirtioBlockGuestProgram program) => MultibootImage.Build(a => Emit(a, program));

    /// <summary>Writes the image to a temporary file and returns its path (the caller deletes it).</summary>
    public static string WriteTemporary(VirtioBlockGuestProgram program)
    {
        byte[] image = Build(program);
        string path = Path.Combine(Path.GetTempPath(), $"ember-virtio-blk-guest-{Environment.ProcessId}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(path, image);
        return path;
    }

    /// <summary>Emits the guest's code (32-bit, flat, for a multiboot entry) into <paramref name="a"/>.</summary>
    public static void Emit(Iced.Intel.Assembler a, VirtioBlockGuestProgram program)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(program);
        if (program.Problem() is { } problem)
            throw new ArgumentException($"virtio-blk guest program: {problem}", nameof(program));
        new VirtioBlockGuestEmitter(a, program).Emit();
    }
}
