using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// What the Linux boot test adds to the default guest's initramfs: the guest script it runs, and Debian's socat
/// (busybox has no AF_VSOCK) with the dynamic loader and the shared libraries ldd names, at the paths they have on
/// the host. They go into a second newc archive appended to the default one: Linux unpacks concatenated archives
/// in turn into the same rootfs (Documentation/driver-api/early-userspace/buffer-format.rst), so the default image
/// and its cache stay as they are.
/// </summary>
internal static partial class LinuxBootGuestFiles
{
    public const string SocatHostPath = "/usr/bin/socat";

    /// <summary>Where the guest script lands in the guest.</summary>
    public const string ScriptPath = "/ember-linux-test.sh";

    /// <summary>Why the archive cannot be built here, or null.</summary>
    public static string? MissingPrerequisite() =>
        File.Exists(SocatHostPath) ? null : $"{SocatHostPath} is missing (apt-get install socat; scripts/install-deps.sh installs it)";

    /// <summary>Writes the default image followed by the test's archive to a new file in <paramref name="directory"/>; returns its path.</summary>
    public static string WriteInitrd(string defaultInitrd, string directory, string guestScript)
    {
        string path = Path.Combine(directory, "initrd-with-test-files.cpio");
        using var output = File.Create(path);
        using (var input = File.OpenRead(defaultInitrd))
            input.CopyTo(output);
        // Each archive in the sequence starts on a 4-byte boundary (the kernel skips zero padding between them).
        while (output.Position % 4 != 0)
            output.WriteByte(0);
        using var archive = new NewcArchiveWriter(output, leaveOpen: true);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        void Add(string guestPath, string hostPath)
        {
            string name = guestPath.TrimStart('/');
            int slash = name.LastIndexOf('/');
            // A directory the first archive already made is made again: the kernel's mkdir fails with EEXIST and goes on.
            if (slash > 0 && directories.Add(name[..slash]))
                archive.EnsureDirectory(name[..slash]);
            archive.AddFileFromHost(name, hostPath, 0b111_101_101);
        }
        Add("/bin/socat", SocatHostPath);
        foreach (string library in SharedLibraries(SocatHostPath))
            Add(library, library);
        archive.AddFile(ScriptPath.TrimStart('/'), Encoding.UTF8.GetBytes(guestScript), 0b111_101_101);
        archive.Finish();
        return path;
    }

    /// <summary>The loader and libraries a dynamic executable needs, as ldd resolves them ("libc.so.6 => /lib/... (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)").</summary>
    private static List<string> SharedLibraries(string executable)
    {
        var start = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(executable);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"ldd {executable} failed ({process.ExitCode}): {error.Result.Trim()}");
        var libraries = LddPath().Matches(output).Select(m => m.Groups[1].Value).Distinct().ToList();
        if (!libraries.Any(l => l.Contains("ld-linux", StringComparison.Ordinal)))
            throw new InvalidOperationException($"ldd {executable} named no dynamic loader:\n{output}");
        return libraries;
    }

    [GeneratedRegex(@"(?:=>\s*|^\s*)(/\S+)\s+\(0x", RegexOptions.Multiline)]
    private static partial Regex LddPath();
}
