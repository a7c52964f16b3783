using Ember.Devices.Virtio.Block;
using Ember.Kvm;
using Ember.TestGuests.Virtio;

namespace Ember.Cli.Tests;

/// <summary>
/// Durability of a flushed write (issue 10 §5): the assembled virtio-blk guest driver (<see cref="VirtioBlockGuest"/>)
/// writes 64 KiB into a real image file and flushes, and prints its "step 01 ok" line on COM1 only after the FLUSH's used
/// element came back. The test reads ember's stdout as it arrives, SIGKILLs the real ember process the moment that line
/// is there (no exit path, no disposal, no chance to write anything later) and then reads the image file.
/// <para>
/// What SIGKILL can show: that the write was in the file, not in a buffer inside Ember, by the time the guest was told its
/// flush was done. The host kernel's page cache outlives the process, so SIGKILL cannot tell a synced write from an
/// unsynced one; that the FLUSH is an fdatasync of the image returning before the guest
/// hears of it is shown by tracing the real process (<see cref="TheFlushIsAnFdatasyncOfTheImageThatReturnsBeforeTheGuestIsTold"/>)
/// and on the device (VirtioBlockTests.FlushReachesTheBackendAfterTheWriteAndBeforeItCompletes); only a power cut
/// would show the rest. For the same reason a write without a flush is no negative case here: the device completes a
/// write only once pwrite has put it in the page cache, so it too survives a SIGKILL.
/// </para>
/// </summary>
[Trait("Requires", "kvm")]
public sealed class DiskDurabilityTests : IDisposable
{
    private const int ImageLength = 1 << 20;
    private const ulong PatternSector = 128;            // 64 KiB into the image
    private const uint PatternLength = 64 * 1024;       // 128 sectors in one request
    private const uint FillSeed = 0xD0AB_1E00;

    private readonly string _directory = Directory.CreateTempSubdirectory("ember-durability-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The write and the flush, held before the write until the host sends a byte on COM1, and parked (never exiting)
    /// after the flush: so Ember only ever ends here by the test's SIGKILL.
    /// </summary>
    private static readonly VirtioBlockGuestProgram Program = new()
    {
        Steps =
        [
            VirtioBlockStep.Write(PatternSector, PatternLength, FillSeed),     // 0: "step 00 ok"
            VirtioBlockStep.Flush(),                                          // 1: "step 01 ok", after FLUSH's used element
        ],
        // VIRTIO_BLK_F_FLUSH: the device may then cache writes, and only the FLUSH promises durability (virtio 1.2
        // §5.2.6.1). Without it Ember is write-through, syncing every write before completing it, and the FLUSH is moot.
        DriverFeatures = (uint)BlockFeature.Flush,
        HoldBeforeStep = 0,
        ParkWhenDone = true,
    };

    [Fact]
    public void AWriteFlushedBeforeEmberIsKilledIsInTheImage()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string image = WriteImage(out byte[] original);

        int status = RunAndKill(image, killAt: "step 01 ok", goAhead: true);

        Assert.Equal(128 + 9, status);
        byte[] expected = original.ToArray();
        Pattern().CopyTo(expected.AsSpan((int)(PatternSector * VirtioBlockStep.SectorSize)));
        AssertImage(expected, File.ReadAllBytes(image));
    }

    /// <summary>
    /// The same guest, killed at its "hold" line, which it prints before it makes the write: the image must not have the
    /// pattern, so the check above is not one a kill satisfies by itself. The hold makes this deterministic: the guest
    /// makes no request until the go-ahead byte, which this test never sends. A guest that printed a marker and then
    /// wrote straight on would race the kill (the write would usually land first), so no such case is here.
    /// </summary>
    [Fact]
    public void AWriteNotYetMadeWhenEmberIsKilledIsNotInTheImage()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string image = WriteImage(out byte[] original);

        int status = RunAndKill(image, killAt: "hold", goAhead: false);

        Assert.Equal(128 + 9, status);
        AssertImage(original, File.ReadAllBytes(image));
    }

    /// <summary>
    /// What SIGKILL cannot show, shown on the real process under strace: the guest's FLUSH is an fdatasync of the image's
    /// descriptor that returns after the write's pwrite and before ember puts the guest's "step 01 ok" on
    /// stdout, a line the guest prints only once the FLUSH's used element is back. So the data is on the disk's stable
    /// storage (as far as the host kernel can promise) before the guest is told so.
    /// </summary>
    [Fact]
    public void TheFlushIsAnFdatasyncOfTheImageThatReturnsBeforeTheGuestIsTold()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        Assert.SkipUnless(File.Exists("/usr/bin/strace"), "strace is not installed (scripts/install-deps.sh installs it)");
        string image = WriteImage(out _);
        string kernel = VirtioBlockGuest.WriteTemporary(Program with { HoldBeforeStep = null, ParkWhenDone = false });
        string tracePath = Path.Combine(_directory, "strace.txt");
        EmberProcess.Result result;
        try
        {
            result = EmberProcess.RunProgram("/usr/bin/strace",
            [
                "-f", "-qq", "-o", tracePath, "-s", "256", "-e", "signal=none",
                "-e", "trace=pwrite64,pwritev,pwritev2,fsync,fdatasync,write,fcntl,dup,dup2,dup3,close",
                "dotnet", EmberProcess.Dll, "run", "--kernel", kernel, "--disk", image, "--debug-exit", "--console", "stdio", "--memory", "64M",
            ]);
        }
        finally
        {
            File.Delete(kernel);
        }
        Assert.Contains("done", result.Stdout);
        var trace = SyscallTrace.Read(tracePath);

        // The one 64 KiB write at byte 64 KiB; its first argument is the image's descriptor.
        var write = Assert.Single(trace.Finished("pwrite64", "pwritev", "pwritev2"),
            c => c.Result == PatternLength && c.Arguments.EndsWith($", {PatternSector * VirtioBlockStep.SectorSize}", StringComparison.Ordinal));
        string fd = write.Arguments[..write.Arguments.IndexOf(',')];
        var sync = trace.Finished("fsync", "fdatasync").FirstOrDefault(c => c.Line > write.Line && c.Arguments == fd);
        Assert.True(sync is { Name: "fdatasync", Result: 0 }, $"no successful fdatasync({fd}) first after the write; trace:\n{trace.Text}");
        int told = trace.LineWhereStdoutContains("step 01 ok");
        Assert.True(told > sync!.Line, $"the guest's \"step 01 ok\" (trace line {told}) did not come after {sync.Name}({fd}) returned (line {sync.Line}); trace:\n{trace.Text}");
    }

    /// <summary>Runs the guest on <paramref name="image"/>, SIGKILLs ember as soon as <paramref name="killAt"/> is read, and returns its exit status.</summary>
    private static int RunAndKill(string image, string killAt, bool goAhead)
    {
        string kernel = VirtioBlockGuest.WriteTemporary(Program);
        try
        {
            using var ember = new RunningEmber("run", "--kernel", kernel, "--disk", image, "--debug-exit", "--console", "stdio",
                "--memory", "64M");
            ember.WaitForLine("hold");
            if (goAhead)
                ember.Send("g"u8);
            if (killAt != "hold")
                ember.WaitForLine(killAt);
            int status = ember.KillAndWait();
            TestContext.Current.TestOutputHelper?.WriteLine(ember.Seen);
            return status;
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>What the guest writes: dwords FillSeed, FillSeed + 1, … (its fill routine).</summary>
    private static byte[] Pattern()
    {
        var pattern = new byte[PatternLength];
        for (uint i = 0; i < PatternLength / 4; i++)
            BitConverter.TryWriteBytes(pattern.AsSpan((int)(i * 4)), FillSeed + i);
        return pattern;
    }

    /// <summary>A 1 MiB image of xorshift32 dwords, nothing like the pattern's counting dwords, so the write shows wherever it lands.</summary>
    private string WriteImage(out byte[] image)
    {
        image = new byte[ImageLength];
        uint state = 0x2545_F491;
        for (int i = 0; i < ImageLength; i += 4)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            BitConverter.TryWriteBytes(image.AsSpan(i), state);
        }
        string path = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(path, image);
        return path;
    }

    /// <summary>Byte for byte, naming the first difference rather than dumping a megabyte.</summary>
    private static void AssertImage(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int first = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(first == expected.Length,
            $"the image differs from byte {first} (sector {first / 512}): expected {expected[Math.Min(first, expected.Length - 1)]:X2}, found {actual[Math.Min(first, actual.Length - 1)]:X2}");
    }
}
