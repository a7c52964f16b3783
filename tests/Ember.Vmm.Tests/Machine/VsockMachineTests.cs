using System.Net.Sockets;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Socket;
using Ember.Kvm;
using Ember.Sys;
using Ember.TestGuests;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Machine;

/// <summary>A machine's vsock device: its configuration checked before anything is built, its listener served by the machine.</summary>
public sealed class VsockMachineTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-vsock-vm-");
    private readonly string _kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));

    public void Dispose()
    {
        File.Delete(_kernel);
        _directory.Delete(recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    private MachineConfig Config(ulong cid, string uds) => new()
    {
        KernelPath = _kernel,
        MemorySize = 32UL << 20,
        Console = ConsoleKind.None,
        Vsock = new VsockConfig(cid, uds),
    };

    [Theory]
    [InlineData(0UL, "vsock guest CID must be between 3 and 4294967294, not 0")]
    [InlineData(2UL, "vsock guest CID must be between 3 and 4294967294, not 2")]
    [InlineData(0xFFFF_FFFFUL, "not 4294967295")]
    [InlineData(0x1_0000_0003UL, "not 4294967299")]
    public void AReservedOrTooLargeCidIsRefused(ulong cid, string expected) =>
        Assert.Contains(expected, Config(cid, PathOf("v.sock")).Validate());

    [Fact]
    public void TheUdsPathMustBeOneEmberCanListenOn()
    {
        Assert.Equal("vsock needs a uds path for its host socket", Config(3, "").Validate());
        Assert.Contains("its directory does not exist", Config(3, PathOf("missing/v.sock")).Validate());
        Assert.Contains("at most 107", Config(3, PathOf(new string('s', 120))).Validate());
        File.WriteAllText(PathOf("file"), "");
        Assert.Contains("it is a regular file", Config(3, PathOf("file")).Validate());
        using (UnixListener.Bind(PathOf("taken.sock")))
            Assert.Equal($"vsock uds_path: cannot listen on {PathOf("taken.sock")}: another program is listening on it; stop it or choose another path",
                Config(3, PathOf("taken.sock")).Validate());
        Assert.Null(Config(3, PathOf("v.sock")).Validate());
        Assert.False(File.Exists(PathOf("v.sock")));
    }

    [Fact]
    public void VsockRunsWithoutALocalApicThroughIntx() =>
        Assert.Null((Config(3, PathOf("v.sock")) with { Irqchip = IrqchipMode.Userspace }).Validate());

    [Fact]
    [Trait("Requires", "kvm")]
    public void TheMachineListensAtUdsPathWhileItLivesAndRemovesTheSocketAfter()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string uds = PathOf("v.sock");
        using (var vm = MicroVm.Create(Config(42, uds), new CapturedConsole()))
        {
            var device = Assert.IsType<VirtioVsock>(Assert.Single(vm.Virtio.Functions).Device);
            Assert.Equal(VirtioDeviceType.Socket, device.Type);
            Assert.Equal(42UL, device.GuestCid);
            Assert.Equal(HostFileKind.Socket, HostFile.Inspect(uds).Kind);

            // No driver yet: the machine's device I/O loop takes the program's connection and ends it.
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30_000 };
            client.Connect(new UnixDomainSocketEndPoint(uds));
            Assert.Equal(0, client.Receive(new byte[16]));
            Assert.Equal(1, device.RefusedConnections);
        }
        Assert.False(File.Exists(uds));
    }
}
