using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ember.Vmm.Images;

/// <summary>
/// Built initramfs files, kept under the user's cache directory and named by a hash of everything
/// they are made from, so an image is rebuilt exactly when an input changes and otherwise reused.
/// Files are written to a temporary name in the same directory and renamed into place (rename(2)
/// is atomic within a file system), so a reader sees a complete image or none; two processes
/// building the same image at once both produce the same bytes, and the last rename wins.
/// Old images are not pruned (each is a few MiB; one per kernel update).
/// </summary>
public static class GuestImageCache
{
    private const string ImagePrefix = "initramfs-";
    private const string ImageExtension = ".cpio";

    /// <summary>Hex digits of the SHA-256 kept in the file name; 64 bits is plenty to tell a handful of images apart.</summary>
    private const int KeyHexDigits = 16;

    /// <summary>"TRAILER!!!" plus its NUL, after the 110-byte header, is 121 bytes, padded to 124.</summary>
    private const int TrailerEntryLength = 124;

    /// <summary>
    /// $XDG_CACHE_HOME/ember, or ~/.cache/ember when it is unset or not absolute (the XDG Base
    /// Directory Specification says relative values are to be ignored).
    /// </summary>
    public static string DefaultDirectory() =>
        DefaultDirectory(Environment.GetEnvironmentVariable("XDG_CACHE_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary><see cref="DefaultDirectory()"/> for given values of XDG_CACHE_HOME and the home directory.</summary>
    public static string DefaultDirectory(string? xdgCacheHome, string? home)
    {
        if (!string.IsNullOrEmpty(xdgCacheHome) && Path.IsPathRooted(xdgCacheHome))
            return Path.Combine(xdgCacheHome, "ember");
        if (string.IsNullOrEmpty(home))
            throw new GuestImageException("Neither XDG_CACHE_HOME nor HOME is set; pass a cache directory.");
        return Path.Combine(home, ".cache", "ember");
    }

    /// <summary>
    /// The hex SHA-256 of every input: the builder version, the kernel, busybox and each module by
    /// identity (path, size, modification time — reading megabytes on every start would cost more
    /// than it saves), each module's place and dependencies, and the full /init text.
    /// </summary>
    public static string ComputeKey(GuestImageInputs inputs, string initScript, int builderVersion)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(initScript);
        var manifest = new StringBuilder();
        manifest.Append(CultureInfo.InvariantCulture, $"builder\t{builderVersion}\n");
        AppendFile(manifest, "kernel", inputs.KernelPath);
        manifest.Append(CultureInfo.InvariantCulture, $"release\t{inputs.KernelRelease}\n");
        AppendFile(manifest, "busybox", inputs.BusyboxPath);
        manifest.Append(CultureInfo.InvariantCulture, $"modules\t{inputs.ModulesDirectory}\n");
        foreach (var module in inputs.Modules.LoadOrder)
        {
            AppendFile(manifest, "module", module.FullPath);
            manifest.Append(CultureInfo.InvariantCulture, $"at\t{module.RelativePath}:{string.Join(' ', module.Dependencies)}\n");
        }
        manifest.Append(CultureInfo.InvariantCulture, $"applets\t{string.Join(' ', GuestInitScript.Applets)}\n");
        manifest.Append("init\n").Append(initScript);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
    }

    /// <summary>The image file for a key: initramfs-&lt;release&gt;-&lt;key prefix&gt;.cpio.</summary>
    public static string ImagePath(string cacheDirectory, string? kernelRelease, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var release = string.Concat((kernelRelease ?? "unknown").Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+' ? c : '_'));
        return Path.Combine(cacheDirectory, $"{ImagePrefix}{release}-{key[..Math.Min(KeyHexDigits, key.Length)]}{ImageExtension}");
    }

    /// <summary>
    /// Whether <paramref name="path"/> holds a finished archive: present, 4-aligned and ending in the
    /// trailer entry exactly as <see cref="NewcArchiveWriter.Finish"/> writes it. Renames make a
    /// partial file unlikely; this also catches one truncated or overwritten by hand.
    /// </summary>
    public static bool IsComplete(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            if (file.Length < TrailerEntryLength || file.Length % 4 != 0)
                return false;
            Span<byte> tail = stackalloc byte[TrailerEntryLength];
            file.Position = file.Length - TrailerEntryLength;
            file.ReadExactly(tail);
            return tail[..NewcArchiveWriter.Magic.Length].SequenceEqual(Encoding.ASCII.GetBytes(NewcArchiveWriter.Magic))
                && tail.Slice(NewcArchiveWriter.HeaderLength, NewcArchiveWriter.TrailerName.Length + 1)
                    .SequenceEqual(Encoding.ASCII.GetBytes(NewcArchiveWriter.TrailerName + "\0"));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a new temporary file beside <paramref name="path"/>, flushes
    /// it to disk, and renames it over <paramref name="path"/>. On failure the temporary file is removed.
    /// The cache directory is created private to the user (0700): what is in it becomes a guest's root file system.
    /// </summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory); // Ember is Linux-only; this keeps the platform analyzer satisfied.
        else
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                // Data on disk before the rename makes it visible, or a crash could leave a named but empty image.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
                // Best effort; the original exception is the one that matters.
            }
            throw;
        }
    }

    private static void AppendFile(StringBuilder manifest, string role, string path)
    {
        // Through symlinks (e.g. /vmlinuz -> boot/vmlinuz-...): the identity is the file's, not the link's.
        var link = new FileInfo(path);
        var info = link.LinkTarget is null ? link : link.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? link;
        if (!info.Exists)
            throw new GuestImageException($"{role} '{path}' does not exist.");
        manifest.Append(CultureInfo.InvariantCulture, $"{role}\t{info.FullName}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}\n");
    }
}
