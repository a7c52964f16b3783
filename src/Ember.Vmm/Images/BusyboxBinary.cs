using System.Buffers.Binary;
using System.Diagnostics;

namespace Ember.Vmm.Images;

/// <summary>
/// Checks that a busybox binary can be PID 1's toolbox in an initramfs that has no C library:
/// it must be a statically linked x86-64 ELF (Debian's busybox-static; the plain busybox package
/// installs a dynamically linked /bin/busybox that would fail in the guest with "not found"), and
/// it must have every applet the init script runs.
/// </summary>
public static class BusyboxBinary
{
    /// <summary>Where Debian's busybox-static installs it.</summary>
    public const string DefaultPath = "/bin/busybox";

    // ELF header and program header fields, System V gABI ("ELF Header", "Program Header").
    private static ReadOnlySpan<byte> ElfMagic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];
    private const int ElfClassOffset = 4;          // e_ident[EI_CLASS]
    private const byte ElfClass64 = 2;             // ELFCLASS64
    private const int ElfDataOffset = 5;           // e_ident[EI_DATA]
    private const byte ElfDataLittleEndian = 1;    // ELFDATA2LSB
    private const int MachineOffset = 0x12;        // e_machine
    private const ushort MachineX86_64 = 62;       // EM_X86_64
    private const int ProgramHeaderOffsetField = 0x20;   // e_phoff
    private const int ProgramHeaderEntrySizeField = 0x36; // e_phentsize
    private const int ProgramHeaderCountField = 0x38;     // e_phnum
    private const int Elf64HeaderSize = 0x40;
    private const int Elf64ProgramHeaderSize = 0x38;
    private const uint ProgramTypeInterpreter = 3; // PT_INTERP: names the dynamic loader; a static binary has none

    /// <summary>Far more program headers than any real binary has; a bound on what we read.</summary>
    private const int MaxProgramHeaders = 256;

    /// <summary>ETXTBSY on Linux (asm-generic/errno-base.h).</summary>
    private const int TextFileBusy = 26;
    private const int TextFileBusyAttempts = 10;
    private static readonly TimeSpan TextFileBusyDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>How long `busybox --list` may take before we give up on the binary.</summary>
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="GuestImageException"/> unless <paramref name="path"/> is a statically linked x86-64 ELF executable.</summary>
    public static void EnsureStaticX86_64(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new GuestImageException($"'{path}' does not exist; install Debian's busybox-static package.");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> header = stackalloc byte[Elf64HeaderSize];
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length
            || !header[..ElfMagic.Length].SequenceEqual(ElfMagic)
            || header[ElfClassOffset] != ElfClass64
            || header[ElfDataOffset] != ElfDataLittleEndian
            || BinaryPrimitives.ReadUInt16LittleEndian(header[MachineOffset..]) != MachineX86_64)
        {
            throw new GuestImageException($"'{path}' is not an x86-64 ELF executable; the guest needs Debian's busybox-static.");
        }
        var tableOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[ProgramHeaderOffsetField..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[ProgramHeaderEntrySizeField..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[ProgramHeaderCountField..]);
        if (entrySize != Elf64ProgramHeaderSize || count > MaxProgramHeaders || tableOffset > (ulong)file.Length)
            throw new GuestImageException($"'{path}' has a malformed ELF program header table.");

        var table = new byte[entrySize * count];
        file.Position = (long)tableOffset;
        if (file.ReadAtLeast(table, table.Length, throwOnEndOfStream: false) < table.Length)
            throw new GuestImageException($"'{path}' has a truncated ELF program header table.");
        for (var i = 0; i < count; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i * entrySize)) == ProgramTypeInterpreter)
                throw new GuestImageException($"'{path}' is dynamically linked and cannot run in the initramfs; install busybox-static (apt-get install busybox-static).");
        }
    }

    /// <summary>
    /// The applets compiled into the binary, from `busybox --list` run on the host (the guest and
    /// the host are both x86-64, and a static binary runs anywhere).
    /// </summary>
    public static IReadOnlySet<string> ListApplets(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--list");
        using (var process = Start(start))
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(ListTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new GuestImageException($"'{path} --list' did not finish within {ListTimeout.TotalSeconds} s.");
            }
            if (process.ExitCode != 0)
                throw new GuestImageException($"'{path} --list' failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
            return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Starts the process, retrying briefly on ETXTBSY: execve(2) refuses a file that some process
    /// has open for writing, and a file that was just written (a fresh copy of busybox) can still be
    /// open in a child another thread forked before the writer closed it, until that child execs.
    /// </summary>
    private static Process Start(ProcessStartInfo start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Process.Start(start) ?? throw new GuestImageException($"Could not start '{start.FileName} --list'.");
            }
            catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == TextFileBusy && attempt < TextFileBusyAttempts)
            {
                Thread.Sleep(TextFileBusyDelay);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new GuestImageException($"Could not run '{start.FileName} --list': {e.Message}", e);
            }
        }
    }

    /// <summary>Throws <see cref="GuestImageException"/> naming every applet in <paramref name="required"/> the binary lacks.</summary>
    public static void EnsureApplets(string path, IEnumerable<string> required)
    {
        var applets = ListApplets(path);
        var missing = required.Where(a => !applets.Contains(a)).ToList();
        if (missing.Count > 0)
            throw new GuestImageException($"'{path}' lacks the applet(s) {string.Join(", ", missing)} that Ember's guest init needs.");
    }
}
