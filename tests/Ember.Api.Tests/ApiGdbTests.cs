using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ember.Kvm;
using Ember.TestGuests;

namespace Ember.Api.Tests;

/// <summary>
/// Firecracker's gdb_socket_path: the machine configuration names a Unix socket, InstanceStart brings up Ember's GDB
/// stub on it, and a debugger that connects speaks the remote protocol with it while the vCPUs wait for it.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class ApiGdbTests
{
    [Fact]
    public async Task GdbSocketPathServesTheRemoteProtocolAfterInstanceStart()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync();
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0x21), "gdb-api");
        try
        {
            string socket = api.PathOf("gdb.sock");
            Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/machine-config", $$"""{"vcpu_count":1,"mem_size_mib":32,"gdb_socket_path":"{{socket}}"}""")).Status);
            var (_, config) = await api.Client.GetAsync("/machine-config");
            using (var json = JsonDocument.Parse(config))
                Assert.Equal(socket, json.RootElement.GetProperty("gdb_socket_path").GetString());
            Assert.Equal(400, (await api.Client.PatchAsync("/machine-config", $$"""{"gdb_socket_path":"{{api.PathOf("no/such/dir/g.sock")}}"}""")).Status);

            var (status, body) = await api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""");
            Assert.True(status == 204, body);

            using var gdb = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await gdb.ConnectAsync(new UnixDomainSocketEndPoint(socket), TestContext.Current.CancellationToken);
            await gdb.SendAsync(Encoding.ASCII.GetBytes("$?#3f"), TestContext.Current.CancellationToken);
            string reply = await ReadUntilPacket(gdb);
            // The ack, then a stop reply: the vCPU waits for the debugger before its first instruction.
            Assert.StartsWith("+$", reply);
            Assert.Matches(@"\$[ST][0-9a-f]{2}", reply);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static async Task<string> ReadUntilPacket(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[512];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (!(text.ToString().Contains('$') && text.ToString().IndexOf('#', text.ToString().IndexOf('$')) is int hash && hash > 0 && text.Length >= hash + 3))
        {
            int n = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(n > 0, $"the stub closed the connection after '{text}'");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return text.ToString();
    }
}
