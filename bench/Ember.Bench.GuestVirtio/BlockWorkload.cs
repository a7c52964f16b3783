using Ember.TestGuests.Virtio;
using Ember.Vmm;
using Ember.Vmm.Machine;

namespace Ember.Bench.GuestVirtio;

/// <summary>
/// The virtio-blk guest (<see cref="VirtioBlockGuest"/>) with four marked steps, one request in flight: 4 KiB reads,
/// 4 KiB writes, 64 KiB reads, 64 KiB writes, every one at sector 0 (so the disk stays in the page cache and the
/// figures are the request path's, not the disk's), no guest checksum or fill (guest instructions are what a software
/// KVM is slowest at). The disk is a file of zeros; FLUSH is not negotiated, so writes end in the page cache.
/// </summary>
internal static class BlockWorkload
{
    public static readonly string[] Names = ["blk-read-4k", "blk-write-4k", "blk-read-64k", "blk-write-64k"];

    /// <param name="counts">Requests per step, in <see cref="Names"/> order.</param>
    public static IReadOnlyList<PhaseResult> Run(IrqchipMode irqchip, IReadOnlyList<uint> counts, string disk)
    {
        var program = new VirtioBlockGuestProgram
        {
            RequestPhaseMarker = (uint)Layout.BootTimer,
            MarkEachStep = true,
            Steps =
            [
                VirtioBlockStep.Read(0, 4096, counts[0], checksum: false, sectorStride: 0),
                VirtioBlockStep.Write(0, 4096, fillSeed: null, counts[1], sectorStride: 0),
                VirtioBlockStep.Read(0, 65536, counts[2], checksum: false, sectorStride: 0),
                VirtioBlockStep.Write(0, 65536, fillSeed: null, counts[3], sectorStride: 0),
            ],
        };
        var config = new MachineConfig
        {
            KernelPath = "",
            MemorySize = Math.Max(64UL << 20, VirtioBlockGuestLayout.MinimumMemory),
            Irqchip = irqchip,
            Drives = [new DriveConfig("disk0", disk)],
        };
        var (exit, console, marks) = MarkedRun.Run(VirtioBlockGuest.Build(program), config);
        var report = VirtioBlockGuestReport.Parse(console);
        if (exit.Reason != MachineStopReason.DebugExit || (VirtioGuestOutcome)exit.DebugExitValue != VirtioGuestOutcome.Success || !report.Done)
            throw new BenchFailure($"the virtio-blk guest did not succeed in {irqchip} mode: {exit.Reason} {exit.Message}; {report.Failure}\n{console}");
        if (marks.Count != 2 * Names.Length)
            throw new BenchFailure($"the virtio-blk guest marked {marks.Count} times, not {2 * Names.Length}");
        return [.. Names.Select((name, i) => PhaseResult.Between(name, irqchip.ToString().ToLowerInvariant(), counts[i], marks[2 * i], marks[2 * i + 1]))];
    }

    /// <summary>A disk of zeros big enough for the 64 KiB requests, in <paramref name="directory"/>.</summary>
    public static string CreateDisk(string directory)
    {
        string path = Path.Combine(directory, "disk0.img");
        using (var file = File.Create(path))
            file.Write(new byte[1 << 20]);
        return path;
    }
}
