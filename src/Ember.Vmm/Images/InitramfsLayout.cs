using System.Text;

namespace Ember.Vmm.Images;

/// <summary>
/// What goes into the default guest's initramfs, and where:
/// <code>
/// bin/busybox, bin/&lt;applet&gt; -> busybox     sbin, usr/bin, usr/sbin -> bin
/// dev/console (5,1), dev/null (1,3)         proc, sys, tmp (empty mount points / scratch)
/// lib/modules/&lt;release&gt;/modules.dep       lib/modules/&lt;release&gt;/kernel/... (the resolved modules)
/// init                                      (the <see cref="GuestInitScript"/>)
/// </code>
/// The archive is left uncompressed: it is a few MiB, and copying it is cheaper at boot than inflating it.
/// </summary>
public static class InitramfsLayout
{
    /// <summary>Console: char major 5, minor 1 (Documentation/admin-guide/devices.txt). The kernel opens it for init before devtmpfs exists.</summary>
    public const uint ConsoleMajor = 5;
    public const uint ConsoleMinor = 1;

    /// <summary>Null device: char major 1, minor 3 (devices.txt).</summary>
    public const uint NullMajor = 1;
    public const uint NullMinor = 3;

    private const uint ConsolePermissions = 0b110_000_000;   // 0600, root's terminal
    private const uint NullPermissions = 0b110_110_110;      // 0666, anyone may write to it
    private const uint StickyWorldWritable = 0b001_111_111_111; // 01777, as /tmp always is
    private const uint Executable = 0b111_101_101;            // 0755

    public static void Write(Stream output, GuestImageInputs inputs, string initScript)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(initScript);
        using var archive = new NewcArchiveWriter(output, modificationTime: 0, leaveOpen: true);

        archive.AddDirectory("bin");
        archive.AddFileFromHost("bin/busybox", inputs.BusyboxPath, Executable);
        foreach (var applet in GuestInitScript.Applets)
            archive.AddSymlink($"bin/{applet}", "busybox");
        // Scripts that start "#!/usr/bin/env" or call /sbin/... find busybox's links too.
        archive.AddSymlink("sbin", "bin");
        archive.AddDirectory("usr");
        archive.AddSymlink("usr/bin", "../bin");
        archive.AddSymlink("usr/sbin", "../bin");

        archive.AddDirectory("dev");
        archive.AddCharacterDevice("dev/console", ConsoleMajor, ConsoleMinor, ConsolePermissions);
        archive.AddCharacterDevice("dev/null", NullMajor, NullMinor, NullPermissions);
        archive.AddDirectory("proc");
        archive.AddDirectory("sys");
        archive.AddDirectory("tmp", StickyWorldWritable);

        if (inputs.ModulesRelease is { } release && inputs.Modules.LoadOrder.Count > 0)
        {
            var root = $"{GuestInitScript.ModulesRoot}/{release}";
            archive.EnsureDirectory(root);
            // A modules.dep for the modules on board, so `modprobe` works in the guest's shell.
            var dependencies = new StringBuilder();
            foreach (var module in inputs.Modules.LoadOrder)
                dependencies.Append(module.RelativePath).Append(':').Append(string.Concat(module.Dependencies.Select(d => " " + d))).Append('\n');
            archive.AddFile($"{root}/{KernelModuleResolver.DependencyFileName}", Encoding.UTF8.GetBytes(dependencies.ToString()));
            foreach (var module in inputs.Modules.LoadOrder)
            {
                var name = $"{root}/{module.RelativePath}";
                archive.EnsureDirectory(name[..name.LastIndexOf('/')]);
                archive.AddFileFromHost(name, module.FullPath);
            }
        }

        archive.AddFile("init", Encoding.UTF8.GetBytes(initScript), Executable);
        archive.Finish();
    }
}
