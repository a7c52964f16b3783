using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

public sealed class DefaultGuestImageTests
{
    private const string Busybox = "/bin/busybox";
    private const string Release = SyntheticModulesTree.Release;

    /// <summary>
    /// A fake /boot with a "kernel" (any bytes will do: the builder only reads its header and
    /// identity), the synthetic modules tree, a copy of the real busybox-static (so its timestamp
    /// can change) and a private cache directory.
    /// </summary>
    private sealed class Host : IDisposable
    {
        public Host()
        {
            Assert.SkipUnless(File.Exists(Busybox), "busybox-static is not installed (the image builder runs `busybox --list`).");
            Modules = new SyntheticModulesTree();
            Kernel = Path.Combine(Modules.TempPath, "boot", $"vmlinuz-{Release}");
            Directory.CreateDirectory(Path.GetDirectoryName(Kernel)!);
            File.WriteAllText(Kernel, "not really a kernel");
            BusyboxCopy = Path.Combine(Modules.TempPath, "busybox");
            File.Copy(Busybox, BusyboxCopy);
            Options = new GuestImageOptions
            {
                BootDirectory = Path.GetDirectoryName(Kernel)!,
                ModuleSearchRoots = [Modules.SearchRoot],
                BusyboxPath = BusyboxCopy,
                CacheDirectory = Path.Combine(Modules.TempPath, "cache"),
                Modules = ["virtio_net", "virtio_blk", "virtio_pci"],
            };
        }

        public SyntheticModulesTree Modules { get; }

        public string Kernel { get; }

        public string BusyboxCopy { get; }

        public GuestImageOptions Options { get; }

        public void Dispose() => Modules.Dispose();
    }

    [Fact]
    public void TheImageHasInitBusyboxDevicesAndModulesWhereTheGuestExpectsThem()
    {
        using var host = new Host();

        var image = DefaultGuestImage.Build(host.Options);

        Assert.Equal(host.Kernel, image.KernelPath);
        Assert.Equal(Release, image.KernelRelease);
        Assert.Equal(DefaultGuestImage.DefaultCommandLine, image.CommandLine);
        Assert.Equal(["virtio_ring", "virtio", "failover", "net_failover", "virtio_net", "virtio_blk"], image.Modules);
        Assert.Equal(["virtio_pci"], image.BuiltInModules);
        Assert.False(image.FromCache);
        Assert.Equal(host.Options.CacheDirectory, Path.GetDirectoryName(image.InitrdPath));

        var entries = NewcTestReader.Read(File.ReadAllBytes(image.InitrdPath)).ToDictionary(e => e.Name);
        var init = entries["init"];
        Assert.Equal(NewcTestEntry.TypeRegular, init.Type);
        Assert.Equal(0b111_101_101u, init.Permissions);
        var modules = KernelModuleResolver.Load(host.Modules.Directory).Resolve(host.Options.Modules).LoadOrder;
        Assert.Equal(GuestInitScript.Generate(Release, modules), init.DataText);

        Assert.Equal(File.ReadAllBytes(Busybox), entries["bin/busybox"].Data);
        Assert.Equal(0b111_101_101u, entries["bin/busybox"].Permissions);
        Assert.All(GuestInitScript.Applets, applet =>
        {
            Assert.Equal(NewcTestEntry.TypeSymlink, entries[$"bin/{applet}"].Type);
            Assert.Equal("busybox", entries[$"bin/{applet}"].DataText);
        });
        Assert.Equal((NewcTestEntry.TypeCharDevice, 5u, 1u), (entries["dev/console"].Type, entries["dev/console"].RdevMajor, entries["dev/console"].RdevMinor));
        Assert.Equal((NewcTestEntry.TypeCharDevice, 1u, 3u), (entries["dev/null"].Type, entries["dev/null"].RdevMajor, entries["dev/null"].RdevMinor));
        Assert.Equal(NewcTestEntry.TypeDirectory, entries["proc"].Type);
        Assert.Equal(NewcTestEntry.TypeDirectory, entries["sys"].Type);
        Assert.Equal(0b001_111_111_111u, entries["tmp"].Permissions);

        var root = $"lib/modules/{Release}";
        foreach (var module in modules)
            Assert.Equal("module " + module.RelativePath, entries[$"{root}/{module.RelativePath}"].DataText);
        Assert.False(entries.ContainsKey($"{root}/kernel/drivers/char/hw_random/virtio-rng.ko.zst")); // Not requested.
        var dep = entries[$"{root}/modules.dep"].DataText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko", dep);
        Assert.Equal(6, dep.Length);
    }

    [Fact]
    public void ASecondBuildReusesTheCachedImage()
    {
        using var host = new Host();
        var first = DefaultGuestImage.Build(host.Options);
        var written = File.GetLastWriteTimeUtc(first.InitrdPath);
        File.SetLastWriteTimeUtc(first.InitrdPath, written.AddHours(-1)); // So a rewrite would show.

        var second = DefaultGuestImage.Build(host.Options);

        Assert.True(second.FromCache);
        Assert.Equal(first with { FromCache = true }, second with { Modules = first.Modules, BuiltInModules = first.BuiltInModules });
        Assert.Equal(first.Modules, second.Modules);
        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(second.InitrdPath));
        Assert.Single(Directory.GetFiles(host.Options.CacheDirectory!)); // No temporary files left behind.
    }

    [Fact]
    public void ChangingAnyInputBuildsANewImage()
    {
        using var host = new Host();
        var paths = new HashSet<string> { DefaultGuestImage.Build(host.Options).InitrdPath };
        void AssertRebuilt(GuestImageOptions options)
        {
            var image = DefaultGuestImage.Build(options);
            Assert.False(image.FromCache);
            Assert.True(paths.Add(image.InitrdPath), "expected a new cache entry");
        }

        File.SetLastWriteTimeUtc(host.BusyboxCopy, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        AssertRebuilt(host.Options);

        File.AppendAllText(Path.Combine(host.Modules.Directory, "kernel/drivers/virtio/virtio.ko"), " patched");
        AssertRebuilt(host.Options);

        File.AppendAllText(host.Kernel, " rebuilt");
        AssertRebuilt(host.Options);

        AssertRebuilt(host.Options with { Modules = ["virtio_net"] });
    }

    [Fact]
    public void ADamagedCachedImageIsRebuilt()
    {
        using var host = new Host();
        var first = DefaultGuestImage.Build(host.Options);
        var good = File.ReadAllBytes(first.InitrdPath);
        File.WriteAllBytes(first.InitrdPath, good[..(good.Length / 2)]);

        var second = DefaultGuestImage.Build(host.Options);

        Assert.False(second.FromCache);
        Assert.Equal(good, File.ReadAllBytes(second.InitrdPath));
    }

    [Fact]
    public void TwoBuildsOfTheSameInputsAreByteIdentical()
    {
        using var host = new Host();
        var first = DefaultGuestImage.Build(host.Options);
        var second = DefaultGuestImage.Build(host.Options with { CacheDirectory = Path.Combine(host.Modules.TempPath, "other-cache") });

        Assert.False(second.FromCache);
        Assert.Equal(File.ReadAllBytes(first.InitrdPath), File.ReadAllBytes(second.InitrdPath));
    }

    [Fact]
    public void WithoutACloudKernelTheErrorSaysWhatToInstall()
    {
        using var host = new Host();
        File.Delete(host.Kernel);

        var error = Assert.Throws<GuestImageException>(() => DefaultGuestImage.Build(host.Options));
        Assert.Contains("linux-image-cloud-amd64", error.Message);
    }

    [Fact]
    public void AnExplicitKernelWithoutModulesGetsAnImageWithoutModules()
    {
        using var host = new Host();
        var kernel = Path.Combine(host.Modules.TempPath, "my-bzImage");
        File.WriteAllText(kernel, "custom kernel with everything built in");

        var image = DefaultGuestImage.Build(host.Options with { KernelPath = kernel });

        Assert.Equal(kernel, image.KernelPath);
        Assert.Null(image.KernelRelease);
        Assert.Empty(image.Modules);
        var names = NewcTestReader.Read(File.ReadAllBytes(image.InitrdPath)).Select(e => e.Name).ToList();
        Assert.Contains("init", names);
        Assert.DoesNotContain(names, n => n.StartsWith("lib", StringComparison.Ordinal));
    }

    [Fact]
    public void ADiscoveredKernelWithoutItsModulesIsAnError()
    {
        using var host = new Host();
        var error = Assert.Throws<GuestImageException>(() => DefaultGuestImage.Build(host.Options with { ModuleSearchRoots = [Path.Combine(host.Modules.TempPath, "nowhere")] }));
        Assert.Contains(Release, error.Message);
    }

    [Fact]
    public void ModulesForAnotherReleaseAreRefused()
    {
        using var host = new Host();
        var otherKernel = Path.Combine(host.Modules.TempPath, "vmlinuz-1.0.0-other");
        File.WriteAllText(otherKernel, "x");

        var error = Assert.Throws<GuestImageException>(() => DefaultGuestImage.Build(host.Options with { KernelPath = otherKernel, ModulesDirectory = host.Modules.Directory }));
        Assert.Contains("1.0.0-other", error.Message);
    }

    [Fact]
    public void ADynamicBusyboxIsRefused()
    {
        using var host = new Host();
        Assert.SkipUnless(File.Exists("/bin/ls"), "No /bin/ls to stand in for a dynamic busybox.");

        var error = Assert.Throws<GuestImageException>(() => DefaultGuestImage.Build(host.Options with { BusyboxPath = "/bin/ls" }));
        Assert.Contains("busybox-static", error.Message);
    }

    [Fact]
    public void TheDefaultCommandLineSuitsAMicroVmWithASerialConsoleAndPci()
    {
        var parameters = DefaultGuestImage.DefaultCommandLine.Split(' ');
        Assert.Equal(parameters.Length, parameters.Distinct().Count());
        Assert.Contains("console=ttyS0", parameters);
        Assert.Contains("reboot=k", parameters);
        Assert.Contains("panic=1", parameters);
        Assert.DoesNotContain(parameters, p => p.StartsWith("pci=", StringComparison.Ordinal));
        Assert.Contains("i8042.noaux", parameters);
        Assert.DoesNotContain(parameters, p => p.StartsWith(GuestCommand.ParameterName, StringComparison.Ordinal));
        Assert.True(DefaultGuestImage.DefaultCommandLine.Length + 1 + GuestCommand.MaxArgumentLength < 2048);
    }

    /// <summary>
    /// What a software KVM's emulator needs travels with the image, so every embedder (the CLI, samples/RunCommand)
    /// boots it the same way: without cx16 hidden, Debian's kernel dies on `lock cmpxchg16b` there before its console
    /// prints a line. On hardware KVM the image asks for nothing.
    /// </summary>
    [Fact]
    public void ASoftwareKvmImageCarriesItsCommandLineAndCpuidMaskAndAHardwareOneNeither()
    {
        using var host = new Host();
        var hardware = DefaultGuestImage.Build(host.Options);
        var software = DefaultGuestImage.Build(host.Options with { SoftwareKvm = true });

        Assert.Empty(hardware.CpuidMask);
        Assert.Equal(DefaultGuestImage.DefaultCommandLine, hardware.CommandLine);
        Assert.Contains("cx16", software.CpuidMask);
        Assert.All(software.CpuidMask, name => Assert.True(Ember.Vmm.Cpu.CpuidFeature.TryFind(name, out _), name));
        var parameters = software.CommandLine.Split(' ');
        Assert.Equal(parameters.Length, parameters.Distinct().Count());
        Assert.Contains("noxsave", parameters);
        Assert.Contains("clearcpuid=popcnt,smap", parameters);
        Assert.Equal(hardware.InitrdPath, software.InitrdPath); // the same initramfs: only how it boots differs
    }

    /// <summary>The real thing: Debian's cloud kernel, its modules and busybox-static, checked with GNU cpio.</summary>
    [Fact]
    public void EndToEndWithTheDebianPackages()
    {
        Assert.SkipUnless(File.Exists(Busybox), "busybox-static is not installed.");
        Assert.SkipWhen(KernelImage.FindNewestCloudKernel("/boot") is null, "linux-image-cloud-amd64 is not installed.");
        var cpio = HostTool.RequireCpio();
        using var temp = new TempDirectory();

        var image = DefaultGuestImage.Build(new GuestImageOptions { CacheDirectory = temp.Path });

        Assert.Equal(KernelImage.FindNewestCloudKernel("/boot"), image.KernelPath);
        Assert.NotNull(image.KernelRelease);
        var listing = HostTool.Run(cpio, ["-it", "--quiet"], File.ReadAllBytes(image.InitrdPath));
        Assert.True(listing.ExitCode == 0, listing.StandardError);
        var names = HostTool.Lines(listing.StandardOutput);
        Assert.Contains("init", names);
        Assert.Contains("bin/busybox", names);
        Assert.Contains("dev/console", names);
        if (image.BuiltInModules.Contains("virtio_net"))
            Assert.DoesNotContain(names, n => n.EndsWith("/virtio_net.ko", StringComparison.Ordinal));
        else
            Assert.Contains(names, n => n.StartsWith($"lib/modules/{image.KernelRelease}/", StringComparison.Ordinal) && KernelModuleResolver.NormalizeName(n) == "virtio_net");
        Assert.Equal(DefaultGuestImage.DefaultModules.Count, image.Modules.Intersect(DefaultGuestImage.DefaultModules).Count() + image.BuiltInModules.Count);

        var init = NewcTestReader.Read(File.ReadAllBytes(image.InitrdPath)).Single(e => e.Name == "init").DataText;
        Assert.Contains("devmem 0xc0000000 8 123", init);
        Assert.True(DefaultGuestImage.Build(new GuestImageOptions { CacheDirectory = temp.Path }).FromCache);
    }
}
