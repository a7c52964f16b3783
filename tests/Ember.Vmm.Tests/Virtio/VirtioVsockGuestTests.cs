using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Ember.Devices.Virtio.Socket;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-vsock device driven through real KVM by an assembled guest driver (<see cref="VirtioVsockGuest"/>),
/// with real Unix sockets on the host side as Firecracker lays them out: the guest connects to host port P and reaches
/// the program listening at "&lt;uds_path&gt;_P"; a host program connects to uds_path, says "CONNECT &lt;port&gt;", hears
/// "OK &lt;host port&gt;" once the guest accepts, and talks to the guest. The guest echoes every byte. It runs in every
/// irqchip mode: the guest polls, and without a LAPIC the function would interrupt through INTx (<see cref="VirtioBlockGuestIntxTests"/>).
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioVsockGuestTests : IDisposable
{
    /// <summary>Only a safety net for each host-side wait.</summary>
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(60);
    private const ulong GuestCid = 42;
    private const uint GuestSourcePort = 49152;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-vsock-guest-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Uds => Path.Combine(_directory.FullName, "v.sock");

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private VirtioGuestBootResult Run(VirtioVsockGuestProgram program, IrqchipMode irqchip, Action<MicroVm, Func<string>>? host = null)
    {
        var result = VirtioGuestBoot.Run(VirtioVsockGuest.Build(program), irqchip, config => config with { Vsock = new VsockConfig(GuestCid, Uds) },
            whileRunning: host, memorySize: 32UL << 20);
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);
        return result;
    }

    private static Socket Listen(string path)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        return listener;
    }

    private static Socket Accept(Socket listener)
    {
        if (!listener.Poll(SafetyNet, SelectMode.SelectRead))
            throw new TimeoutException($"no connection reached the listener within {SafetyNet}");
        var connection = listener.Accept();
        connection.ReceiveTimeout = (int)SafetyNet.TotalMilliseconds;
        return connection;
    }

    private static byte[] ReadExactly(Socket socket, int length)
    {
        var bytes = new byte[length];
        for (int at = 0; at < length;)
        {
            int read = socket.Receive(bytes, at, length - at, SocketFlags.None);
            if (read == 0)
                throw new EndOfStreamException($"the stream ended after {at} of {length} bytes");
            at += read;
        }
        return bytes;
    }

    /// <summary>True when the stream ends (the device closed it) rather than carrying more bytes.</summary>
    private static bool EndsHere(Socket socket) => socket.Receive(new byte[64]) == 0;

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void TheGuestConnectsToAHostPortWhereAProgramListensAndEchoesWhatTheProgramSends(IrqchipMode irqchip)
    {
        const uint hostPort = 5000;
        byte[] payload = Pattern(10_000, 1);
        byte[] echoed = [];
        bool ended = false;
        using var listener = Listen($"{Uds}_{hostPort}");
        var program = new VirtioVsockGuestProgram { Steps = [VirtioVsockGuestStep.ConnectToHost(GuestSourcePort, hostPort, (uint)payload.Length)] };

        var result = Run(program, irqchip, (_, _) =>
        {
            using var connection = Accept(listener);
            connection.Send(payload);
            echoed = ReadExactly(connection, payload.Length);
            ended = EndsHere(connection);
        });

        result.AssertSucceeded();
        Assert.Equal(payload, echoed);
        Assert.True(ended, "the guest's shutdown did not end the host's stream");
        var report = VirtioVsockGuestReport.Parse(result.Console);
        Assert.Equal((uint)GuestCid, report.GuestCid);
        Assert.Equal([(0, hostPort)], report.Connected);
        Assert.Equal([(0, (uint)payload.Length)], report.Closed);
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void AHostProgramConnectsToTheGuestsPortHearsOkWithItsHostPortAndGetsItsBytesBack(IrqchipMode irqchip)
    {
        const uint guestPort = 6000;
        byte[] payload = Pattern(20_000, 2);
        byte[] echoed = [];
        bool ended = false;
        uint assignedPort = 0;
        var program = new VirtioVsockGuestProgram { Steps = [VirtioVsockGuestStep.AcceptFromHost(guestPort, (uint)payload.Length)] };

        var result = Run(program, irqchip, (vm, console) =>
        {
            // The device takes host connections only once the driver is up: wait until the guest says it is.
            VirtioGuestBoot.WaitForConsole(console, VirtioVsockGuest.ReadyLine, SafetyNet, vm);
            using var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)SafetyNet.TotalMilliseconds };
            connection.Connect(new UnixDomainSocketEndPoint(Uds));
            // The first bytes ride in the same write as the CONNECT line: they reach the guest first, all the same.
            connection.Send([.. Encoding.ASCII.GetBytes($"CONNECT {guestPort}\n"), .. payload[..8]]);
            string acknowledgement = ReadLine(connection);
            Assert.StartsWith("OK ", acknowledgement);
            assignedPort = uint.Parse(acknowledgement[3..], CultureInfo.InvariantCulture);
            connection.Send(payload[8..]);
            echoed = ReadExactly(connection, payload.Length);
            ended = EndsHere(connection);
        });

        result.AssertSucceeded();
        Assert.Equal(payload, echoed);
        Assert.True(ended, "the guest's shutdown did not end the host program's stream");
        Assert.InRange(assignedPort, VsockLimits.FirstEphemeralPort, uint.MaxValue - 1);
        // The port the device told the program is the one the guest saw the connection come from.
        var report = VirtioVsockGuestReport.Parse(result.Console);
        Assert.Equal([(0, assignedPort)], report.Connected);
        Assert.Equal([(0, (uint)payload.Length)], report.Closed);
    }

    [Fact]
    public void ConnectionsOneAfterAnotherBothWaysEachEchoAndEnd()
    {
        const uint hostPort = 5001, guestPort = 6001;
        byte[] first = Pattern(3000, 3), second = Pattern(5000, 4);
        byte[] firstEchoed = [], secondEchoed = [];
        using var listener = Listen($"{Uds}_{hostPort}");
        var program = new VirtioVsockGuestProgram
        {
            Steps =
            [
                VirtioVsockGuestStep.ConnectToHost(GuestSourcePort, hostPort, (uint)first.Length),
                VirtioVsockGuestStep.AcceptFromHost(guestPort, (uint)second.Length),
            ],
        };

        var result = Run(program, IrqchipMode.Split, (vm, console) =>
        {
            using (var connection = Accept(listener))
            {
                connection.Send(first);
                firstEchoed = ReadExactly(connection, first.Length);
                Assert.True(EndsHere(connection));
            }
            VirtioGuestBoot.WaitForConsole(console, "step 00 closed", SafetyNet, vm);
            using var hostProgram = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)SafetyNet.TotalMilliseconds };
            hostProgram.Connect(new UnixDomainSocketEndPoint(Uds));
            hostProgram.Send(Encoding.ASCII.GetBytes($"CONNECT {guestPort}\n"));
            Assert.StartsWith("OK ", ReadLine(hostProgram));
            hostProgram.Send(second);
            secondEchoed = ReadExactly(hostProgram, second.Length);
            Assert.True(EndsHere(hostProgram));
        });

        result.AssertSucceeded();
        Assert.Equal(first, firstEchoed);
        Assert.Equal(second, secondEchoed);
        Assert.Equal([0, 1], VirtioVsockGuestReport.Parse(result.Console).Closed.Select(c => c.Step));
    }

    [Fact]
    public void AConnectionToAHostPortNobodyListensOnIsResetAndTheGuestSaysSo()
    {
        var program = new VirtioVsockGuestProgram { Steps = [VirtioVsockGuestStep.ConnectToHost(GuestSourcePort, 7000, 100)] };

        var result = Run(program, IrqchipMode.Split);

        Assert.Equal(VirtioGuestOutcome.VsockReset, result.Outcome);
        Assert.Equal((VirtioGuestOutcome.VsockReset, 0, (ushort)VsockOp.Reset), VirtioVsockGuestReport.Parse(result.Console).Failure);
    }

    [Fact]
    public void AProgramTheGuestCannotRunIsRefusedBeforeItIsAssembled()
    {
        Assert.Contains("no steps", new VirtioVsockGuestProgram { Steps = [] }.Problem());
        Assert.Contains("at most 65536", new VirtioVsockGuestProgram { Steps = [VirtioVsockGuestStep.AcceptFromHost(1, 70_000)] }.Problem());
        Assert.Contains("power of two", new VirtioVsockGuestProgram { QueueSize = 4, Steps = [VirtioVsockGuestStep.AcceptFromHost(1, 1)] }.Problem());
        Assert.Throws<ArgumentException>(() => VirtioVsockGuest.Build(new VirtioVsockGuestProgram { Steps = [VirtioVsockGuestStep.ConnectToHost(1, uint.MaxValue, 1)] }));
    }

    /// <summary>Reads up to a newline (the device's acknowledgement is at most 14 bytes), without it.</summary>
    private static string ReadLine(Socket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < HostConnectLine.MaxAcknowledgementLength)
        {
            if (socket.Receive(one) == 0)
                throw new EndOfStreamException($"the stream ended after \"{line}\"");
            if (one[0] == '\n')
                return line.ToString();
            line.Append((char)one[0]);
        }
        throw new InvalidDataException($"no line within {HostConnectLine.MaxAcknowledgementLength} bytes: \"{line}\"");
    }
}
