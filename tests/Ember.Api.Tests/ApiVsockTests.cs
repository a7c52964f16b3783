using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ember.Kvm;
using Ember.Sys;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Api.Tests;

/// <summary>
/// PUT /vsock (Firecracker's Vsock) over the real API socket: every way the body can be wrong, the device in
/// GET /vm/config, and, on /dev/kvm, a machine whose vsock listener takes a host program's CONNECT.
/// </summary>
public sealed class ApiVsockTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    private static async Task<string> Refused(Task<(int Status, string Body)> request)
    {
        var (status, body) = await request;
        Assert.True(status == 400, $"status {status}: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("fault_message").GetString()!;
    }

    /// <summary>Halts forever with interrupts off: a guest that never drives its vsock device.</summary>
    private static string WriteHaltingGuest() => MultibootImage.WriteTemporary(a =>
    {
        var forever = a.CreateLabel();
        a.Label(ref forever);
        a.cli();
        a.hlt();
        a.jmp(forever);
    });

    [Fact]
    public async Task BadVsockBodiesAreRefusedByFieldAndNothingIsStored()
    {
        await using var api = await ApiFixture.StartAsync();
        string uds = api.PathOf("v.sock");
        Assert.Equal("invalid request body: missing required field 'guest_cid'", await Refused(api.Client.PutAsync("/vsock", $$"""{"uds_path":"{{uds}}"}""")));
        Assert.Equal("invalid request body: missing required field 'uds_path'", await Refused(api.Client.PutAsync("/vsock", """{"guest_cid":3}""")));
        Assert.Equal("invalid request body: field 'guest_cid' has the wrong type", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":"3","uds_path":"{{uds}}"}""")));
        Assert.Equal("invalid request body: field 'uds_path' has the wrong type", await Refused(api.Client.PutAsync("/vsock", """{"guest_cid":3,"uds_path":7}""")));
        Assert.Equal("invalid request body: unknown field 'cid'", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"cid":3,"uds_path":"{{uds}}"}""")));
        Assert.Equal("guest_cid: 2 is outside 3 to 4294967294 (0 to 2 are reserved; 2 is the host)", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":2,"uds_path":"{{uds}}"}""")));
        Assert.StartsWith("guest_cid: -1 is outside", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":-1,"uds_path":"{{uds}}"}""")));
        Assert.StartsWith("guest_cid: 4294967295 is outside", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":4294967295,"uds_path":"{{uds}}"}""")));
        Assert.Equal("uds_path: the path is empty", await Refused(api.Client.PutAsync("/vsock", """{"guest_cid":3,"uds_path":""}""")));
        Assert.Contains("at most 107", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.PathOf(new string('s', 120))}}"}""")));
        Assert.Contains("its directory does not exist", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.PathOf("missing/v.sock")}}"}""")));
        // The API's own socket, and another program's listener, are taken.
        Assert.Equal($"uds_path: cannot listen on {api.Server.SocketPath}: another program is listening on it; stop it or choose another path",
            await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.Server.SocketPath}}"}""")));
        using (UnixListener.Bind(api.PathOf("taken.sock")))
            Assert.Contains("another program is listening on it", await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.PathOf("taken.sock")}}"}""")));

        var (_, config) = await api.Client.GetAsync("/vm/config");
        using var json = JsonDocument.Parse(config);
        Assert.False(json.RootElement.TryGetProperty("vsock", out _));
        Assert.False(File.Exists(uds), "validating a uds_path must not create the socket");
    }

    [Fact]
    public async Task AVsockPutIsInTheVmConfigAndASecondPutReplacesIt()
    {
        await using var api = await ApiFixture.StartAsync();
        Assert.Equal(204, (await api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.PathOf("a.sock")}}","vsock_id":"vsock0"}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/vsock", $$"""{"guest_cid":52,"uds_path":"{{api.PathOf("b.sock")}}"}""")).Status);
        var (status, body) = await api.Client.GetAsync("/vm/config");
        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        var vsock = json.RootElement.GetProperty("vsock");
        Assert.Equal(52, vsock.GetProperty("guest_cid").GetInt64());
        Assert.Equal(api.PathOf("b.sock"), vsock.GetProperty("uds_path").GetString());
        Assert.False(vsock.TryGetProperty("vsock_id", out _));
        Assert.False(File.Exists(api.PathOf("a.sock")));
        Assert.False(File.Exists(api.PathOf("b.sock")));
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public async Task AfterInstanceStartTheDeviceTakesAHostConnectAndVsockIsRefused()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync();
        string kernel = WriteHaltingGuest();
        try
        {
            string uds = api.PathOf("v.sock");
            Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":1,"mem_size_mib":32}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{api.PathOf("serial.log")}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{uds}}"}""")).Status);
            Assert.False(File.Exists(uds));
            var (status, body) = await api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""");
            Assert.True(status == 204, body);
            Assert.Equal(HostFileKind.Socket, HostFile.Inspect(uds).Kind);

            // Firecracker's host-initiated connection. This guest has no vsock driver, so the device answers the
            // way its multiplexer answers a connection nobody can take: it closes it (an orderly EOF, not a refusal).
            ExpectClosedAfterConnect(uds);
            ExpectClosedAfterConnect(uds);

            Assert.Equal("the vsock device can only be configured before the machine starts",
                await Refused(api.Client.PutAsync("/vsock", $$"""{"guest_cid":4,"uds_path":"{{api.PathOf("other.sock")}}"}""")));
            (_, body) = await api.Client.GetAsync("/vm/config");
            Assert.Contains($"\"uds_path\":\"{uds}\"", body);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public async Task APathTakenBetweenPutAndInstanceStartIsA400AndNoMachineIsLeft()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync();
        string kernel = WriteHaltingGuest();
        try
        {
            string uds = api.PathOf("v.sock");
            Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":1,"mem_size_mib":32}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{api.PathOf("serial.log")}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/vsock", $$"""{"guest_cid":3,"uds_path":"{{uds}}"}""")).Status);
            using (UnixListener.Bind(uds))
            {
                Assert.Equal($"vsock uds_path: cannot listen on {uds}: another program is listening on it; stop it or choose another path",
                    await Refused(api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""")));
                Assert.Equal((200, """{"state":"NotStarted"}"""), await api.Client.GetAsync("/vm/state"));
            }
            // Once the path is free again, the same resources start.
            var (status, body) = await api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""");
            Assert.True(status == 204, body);
            ExpectClosedAfterConnect(uds);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public async Task AConfigFilesVsockSectionStartsTheDevice()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync();
        string kernel = WriteHaltingGuest();
        try
        {
            string uds = api.PathOf("file.sock");
            string file = $$"""
                {
                  "boot-source": { "kernel_image_path": "{{kernel}}" },
                  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
                  "serial": { "serial_out_path": "{{api.PathOf("serial.log")}}" },
                  "vsock": { "guest_cid": 7, "uds_path": "{{uds}}" }
                }
                """;
            Assert.Null(await FirecrackerConfigFile.ApplyAndStartAsync(new FirecrackerApi(api.Controller), Encoding.UTF8.GetBytes(file)));
            ExpectClosedAfterConnect(uds);
            var (_, body) = await api.Client.GetAsync("/vm/config");
            Assert.Contains("\"guest_cid\":7", body);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task ABadVsockSectionNamesTheSection()
    {
        await using var api = await ApiFixture.StartAsync();
        string file = $$$"""{"vsock":{"guest_cid":2,"uds_path":"{{{api.PathOf("v.sock")}}}"}}""";
        Assert.Equal("vsock: guest_cid: 2 is outside 3 to 4294967294 (0 to 2 are reserved; 2 is the host)",
            await FirecrackerConfigFile.ApplyAndStartAsync(new FirecrackerApi(api.Controller), Encoding.UTF8.GetBytes(file)));
        Assert.Equal("invalid configuration file: missing required field 'uds_path'",
            await FirecrackerConfigFile.ApplyAndStartAsync(new FirecrackerApi(api.Controller), """{"vsock":{"guest_cid":3}}"""u8.ToArray()));
    }

    /// <summary>
    /// Connects to uds_path, asks for guest port 52, and expects the device to end the connection. Without a driver
    /// the device closes a host connection as soon as it accepts it, so the line may meet a closed socket (EPIPE or a
    /// reset): that is the same answer. What fails is no listener (connect refused), a reply, or a connection left open.
    /// </summary>
    private static void ExpectClosedAfterConnect(string uds)
    {
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)SafetyNet.TotalMilliseconds };
        client.Connect(new UnixDomainSocketEndPoint(uds));
        var reply = new byte[64];
        int n;
        try
        {
            client.Send("CONNECT 52\n"u8);
            n = client.Receive(reply);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted || e.NativeErrorCode == 32)
        {
            return;
        }
        Assert.True(n == 0, $"the device answered '{Encoding.ASCII.GetString(reply, 0, n)}' instead of closing");
    }
}
