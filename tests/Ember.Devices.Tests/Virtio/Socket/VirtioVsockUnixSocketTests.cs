using System.Net.Sockets;
using System.Text;
using HostSocket = System.Net.Sockets.Socket;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Socket;
using Ember.Sys;

namespace Ember.Devices.Tests.Virtio.Socket;

/// <summary>
/// virtio-vsock over real Unix sockets, served by a real device I/O event loop: a host program connects to uds_path
/// with Firecracker's CONNECT line, and a guest connection reaches a real listener at "&lt;uds_path&gt;_&lt;port&gt;".
/// The test plays the guest driver on rings in array memory (Linux does not reach user space on this host).
/// </summary>
public sealed class VirtioVsockUnixSocketTests : IDisposable
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(30);
    private const uint GuestPort = 1234;
    private const uint GuestBufferAllocation = 64 * 1024;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-vsock-");
    private readonly string _udsPath;
    private readonly EventLoop _loop = new();
    private readonly VirtioVsock _device;
    private readonly VsockTestGuest _guest = new();

    public VirtioVsockUnixSocketTests()
    {
        _udsPath = Path.Combine(_directory.FullName, "v.sock");
        _device = new VirtioVsock(VsockTestGuest.Cid, new UnixVsockBackend(new VsockUnixPaths(_udsPath), _loop));
        _loop.Start(ThreadRole.DeviceIo, "vsock-test");
        _guest.PostReceiveBuffers(32);
        _guest.Activate(_device);
    }

    public void Dispose()
    {
        _loop.Dispose();
        _device.Dispose();
        _directory.Delete(recursive: true);
    }

    private static HostSocket ConnectClient(string path)
    {
        var client = new HostSocket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)SafetyNet.TotalMilliseconds,
            SendTimeout = (int)SafetyNet.TotalMilliseconds,
        };
        client.Connect(new UnixDomainSocketEndPoint(path));
        return client;
    }

    private static string ReadLine(HostSocket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (socket.Receive(one) == 1 && one[0] != '\n')
            line.Append((char)one[0]);
        return line.ToString();
    }

    private static byte[] ReadExactly(HostSocket socket, int length)
    {
        var bytes = new byte[length];
        int total = 0;
        while (total < length)
        {
            int read = socket.Receive(bytes, total, length - total, SocketFlags.None);
            Assert.True(read > 0, $"the stream ended after {total} of {length} bytes");
            total += read;
        }
        return bytes;
    }

    /// <summary>Takes the device's packets (re-posting their buffers) until one matches; all taken so far are returned.</summary>
    private List<ReceivedPacket> WaitForPacket(Func<ReceivedPacket, bool> until)
    {
        var taken = new List<ReceivedPacket>();
        long deadline = Environment.TickCount64 + (long)SafetyNet.TotalMilliseconds;
        while (true)
        {
            var packets = _guest.TakeReceived();
            if (packets.Count > 0)
            {
                taken.AddRange(packets);
                // The buffers went back on the ring: tell the device, as a driver would.
                _device.Notify(VirtioVsock.ReceiveQueue);
                if (packets.Any(until))
                    return taken;
                continue;
            }
            Assert.True(Environment.TickCount64 < deadline, $"no such packet within the safety net; got {string.Join(", ", taken.Select(p => p.Op))}");
            Thread.Sleep(1);
        }
    }

    /// <summary>A host program's CONNECT answered by the guest: returns the program's socket and its host port.</summary>
    private (HostSocket Client, uint HostPort) ConnectFromHost()
    {
        var client = ConnectClient(_udsPath);
        client.Send("CONNECT 1234\n"u8);
        var request = WaitForPacket(p => p.Op == VsockOp.Request).Single(p => p.Op == VsockOp.Request).Header;
        Assert.Equal(GuestPort, request.DestinationPort);
        Assert.Equal(VsockCid.Host, request.SourceCid);
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Response, GuestPort, request.SourcePort, GuestBufferAllocation));
        Assert.Equal($"OK {request.SourcePort}", ReadLine(client));
        return (client, request.SourcePort);
    }

    [Fact]
    public async Task AHostProgramConnectsToAGuestPortAndBytesFlowBothWaysExactly()
    {
        var (client, hostPort) = ConnectFromHost();
        using var _ = client;
        var toGuest = new byte[300 * 1024];
        var toHost = new byte[300 * 1024];
        new Random(7).NextBytes(toGuest);
        new Random(8).NextBytes(toHost);

        // Host to guest: far more than the guest's buffer, so the device has to wait for its credit updates.
        var sending = Task.Run(() => client.Send(toGuest), TestContext.Current.CancellationToken);
        var received = new MemoryStream();
        long deadline = Environment.TickCount64 + (long)SafetyNet.TotalMilliseconds;
        while (received.Length < toGuest.Length)
        {
            var packets = _guest.TakeReceived();
            if (packets.Count == 0)
            {
                Assert.True(Environment.TickCount64 < deadline, $"the guest got {received.Length} of {toGuest.Length} bytes");
                Thread.Sleep(1);
                continue;
            }
            foreach (var packet in packets)
            {
                Assert.Contains(packet.Op, new[] { VsockOp.ReadWrite, VsockOp.CreditRequest });
                Assert.Equal((hostPort, GuestPort), (packet.Header.SourcePort, packet.Header.DestinationPort));
                received.Write(packet.Payload);
            }
            Assert.True(received.Length <= toGuest.Length);
            // Consumed at once, as an application reading as fast as it can.
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.CreditUpdate, GuestPort, hostPort, GuestBufferAllocation, forwardCount: (uint)received.Length));
            _device.Notify(VirtioVsock.ReceiveQueue);
        }
        Assert.Equal(toGuest.Length, await sending.WaitAsync(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(toGuest, received.ToArray());

        // Guest to host, within the credit the device gives: its buf_alloc less what it has not forwarded yet.
        var reading = Task.Run(() => ReadExactly(client, toHost.Length), TestContext.Current.CancellationToken);
        uint deviceAllocation = VsockLimits.BufferAllocation;
        uint deviceForwarded = 0;
        int sent = 0;
        deadline = Environment.TickCount64 + (long)SafetyNet.TotalMilliseconds;
        while (sent < toHost.Length)
        {
            foreach (var packet in _guest.TakeReceived())
            {
                Assert.Equal(VsockOp.CreditUpdate, packet.Op);
                deviceAllocation = packet.Header.BufferAllocation;
                deviceForwarded = packet.Header.ForwardCount;
            }
            _device.Notify(VirtioVsock.ReceiveQueue);
            int credit = (int)(deviceAllocation - ((uint)sent - deviceForwarded));
            int chunk = Math.Min(Math.Min(credit, 4096), toHost.Length - sent);
            if (chunk <= 0)
            {
                Assert.True(Environment.TickCount64 < deadline, $"no credit after {sent} of {toHost.Length} bytes");
                Thread.Sleep(1);
                continue;
            }
            // Every packet carries the guest's own credit too: all it received so far is consumed.
            _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, GuestPort, hostPort, GuestBufferAllocation, forwardCount: (uint)toGuest.Length), toHost.AsSpan(sent, chunk));
            sent += chunk;
        }
        Assert.Equal(toHost, await reading.WaitAsync(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(VsockConnectionState.Established, _device.FindConnection(hostPort, GuestPort));

        // The program leaves: the guest hears that the host end is gone both ways, and resets.
        client.Close();
        var shutdown = WaitForPacket(p => p.Op == VsockOp.Shutdown).Last();
        Assert.Equal((uint)(VsockShutdownFlags.Send | VsockShutdownFlags.Receive), shutdown.Header.Flags);
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Reset, GuestPort, hostPort, GuestBufferAllocation, forwardCount: (uint)toGuest.Length));
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void AGuestConnectionReachesTheListenerAtUdsPathUnderscorePort()
    {
        using var listener = new HostSocket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint($"{_udsPath}_5000"));
        listener.Listen();

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, 49152, 5000, GuestBufferAllocation));
        var response = WaitForPacket(p => p.Op == VsockOp.Response).Single();
        Assert.Equal((5000u, 49152u), (response.Header.SourcePort, response.Header.DestinationPort));
        // The device connected while it handled the request; the connection is waiting to be accepted.
        using var server = listener.Accept();
        server.ReceiveTimeout = (int)SafetyNet.TotalMilliseconds;

        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.ReadWrite, 49152, 5000), "hello from the guest"u8);
        Assert.Equal("hello from the guest", Encoding.ASCII.GetString(ReadExactly(server, 20)));
        server.Send("hello from the host"u8);
        var data = WaitForPacket(p => p.Op == VsockOp.ReadWrite);
        Assert.Equal("hello from the host", Encoding.ASCII.GetString(data.Where(p => p.Op == VsockOp.ReadWrite).SelectMany(p => p.Payload).ToArray()));

        // The guest closes: the host program reads the end of its stream, and the guest gets its reset.
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Shutdown, 49152, 5000, flags: (uint)(VsockShutdownFlags.Send | VsockShutdownFlags.Receive)));
        Assert.Equal(0, server.Receive(new byte[16]));
        var reset = WaitForPacket(p => p.Op == VsockOp.Reset).Last();
        Assert.Equal((5000u, 49152u), (reset.Header.SourcePort, reset.Header.DestinationPort));
        Assert.Equal(0, _device.ConnectionCount);
    }

    [Fact]
    public void AGuestConnectionToAPortWithoutAListenerIsReset()
    {
        _guest.Send(_device, VsockTestGuest.Packet(VsockOp.Request, 49152, 5001));
        var reset = WaitForPacket(p => p.Op == VsockOp.Reset).Single();
        Assert.Equal((5001u, 49152u), (reset.Header.SourcePort, reset.Header.DestinationPort));
    }

    [Fact]
    public void AProgramThatSendsNoConnectLineIsDisconnected()
    {
        using var client = ConnectClient(_udsPath);
        client.Send("HELLO 1234\n"u8);
        Assert.Equal(0, client.Receive(new byte[16]));
        Assert.Empty(_guest.TakeReceived());
    }

    [Fact]
    public void TheListenerIsTakenWhileTheDeviceLivesAndItsSocketFileGoesWithIt()
    {
        Assert.Contains("another program is listening", UnixListener.FindBindProblem(_udsPath));
        _loop.Dispose();
        _device.Dispose();
        Assert.False(File.Exists(_udsPath));
    }
}
