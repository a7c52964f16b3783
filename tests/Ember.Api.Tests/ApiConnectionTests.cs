using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Ember.Api.Tests;

/// <summary>
/// One connection can never stall the others: a client that sends half a request (headers without their end, a
/// body shorter than its Content-Length) and waits holds only its own connection, and Kestrel ends it after the
/// stalled-request timeout. Raw Unix sockets for the stalled clients, a real HttpClient for the others.
/// </summary>
public sealed class ApiConnectionTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(60);

    private const string HalfHeaders = "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";

    private static Socket Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)SafetyNet.TotalMilliseconds };
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        return socket;
    }

    /// <summary>Everything the server sends until it closes the connection (or the safety net's receive timeout).</summary>
    private static string ReadToClose(Socket socket)
    {
        var all = new MemoryStream();
        var chunk = new byte[4096];
        try
        {
            int n;
            while ((n = socket.Receive(chunk)) > 0)
                all.Write(chunk, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A reset after the answer is still a closed connection.
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            Assert.Fail($"the server neither answered nor closed the stalled connection within {SafetyNet.TotalSeconds} s; it sent: {Encoding.ASCII.GetString(all.ToArray())}");
        }
        return Encoding.ASCII.GetString(all.ToArray());
    }

    /// <summary>The answer to one request whose body has a Content-Length: status line and headers, then that many bytes.</summary>
    private static string ReadOneResponse(Socket socket)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.True(socket.Receive(one) == 1, $"the connection closed after: {text}");
            text.Append((char)one[0]);
        }
        return text.ToString();
    }

    private static bool Unanswered(Socket socket) => !socket.Poll(0, SelectMode.SelectRead);

    [Fact]
    public async Task AHalfSentRequestHoldsOnlyItsOwnConnectionAndIsServedOnceItsBodyArrives()
    {
        // The stalled requests must outlast this test, so no verdict here depends on how fast the host is.
        await using var api = await ApiFixture.StartAsync(stalledRequestTimeout: TimeSpan.FromMinutes(10));
        string body = """{"vcpu_count":2,"mem_size_mib":300}""";
        int split = body.IndexOf(',', StringComparison.Ordinal) + 1;
        using var headersOnly = Connect(api.Server.SocketPath);
        using var shortBody = Connect(api.Server.SocketPath);
        headersOnly.Send(Encoding.ASCII.GetBytes(HalfHeaders));
        shortBody.Send(Encoding.ASCII.GetBytes($"{HalfHeaders}Content-Length: {body.Length}\r\n\r\n{body[..split]}"));

        // Everyone else is served meanwhile, commands to the machine included.
        var (status, answer) = await api.Client.GetAsync("/");
        Assert.Equal(200, status);
        Assert.Contains("\"state\":\"Not started\"", answer);
        Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":4,"mem_size_mib":256}""")).Status);
        (status, answer) = await api.Client.GetAsync("/machine-config");
        Assert.Equal(200, status);
        using (var machine = JsonDocument.Parse(answer))
            Assert.Equal(4, machine.RootElement.GetProperty("vcpu_count").GetInt32());
        using (var other = new ApiClient(api.Server.SocketPath))
            Assert.Equal(200, (await other.GetAsync("/version")).Status);

        Assert.True(Unanswered(headersOnly), "the connection with half its headers was answered or closed");
        Assert.True(Unanswered(shortBody), "the connection with half its body was answered or closed");

        // The rest of the body arrives: the request that waited is served, in full.
        shortBody.Send(Encoding.ASCII.GetBytes(body[split..]));
        string response = ReadOneResponse(shortBody);
        Assert.StartsWith("HTTP/1.1 204", response);
        (_, answer) = await api.Client.GetAsync("/machine-config");
        using (var machine = JsonDocument.Parse(answer))
        {
            Assert.Equal(2, machine.RootElement.GetProperty("vcpu_count").GetInt32());
            Assert.Equal(300, machine.RootElement.GetProperty("mem_size_mib").GetInt32());
        }

        // The other one gives up; the server goes on.
        headersOnly.Close();
        Assert.Equal(200, (await api.Client.GetAsync("/")).Status);
    }

    [Fact]
    public async Task AStalledRequestIsAnswered408AndClosedAfterTheTimeout()
    {
        await using var api = await ApiFixture.StartAsync(stalledRequestTimeout: TimeSpan.FromSeconds(2));
        using var headersOnly = Connect(api.Server.SocketPath);
        using var shortBody = Connect(api.Server.SocketPath);
        headersOnly.Send(Encoding.ASCII.GetBytes(HalfHeaders));
        shortBody.Send(Encoding.ASCII.GetBytes($"{HalfHeaders}Content-Length: 100\r\n\r\n{{\"vcpu_count\":2,"));

        // However long the host takes, each ends with Kestrel's 408 and a close, never a Firecracker fault (a 400
        // would say the body was too large or malformed, which it was not) and never a hang.
        string headersAnswer = ReadToClose(headersOnly);
        Assert.StartsWith("HTTP/1.1 408", headersAnswer);
        string bodyAnswer = ReadToClose(shortBody);
        Assert.StartsWith("HTTP/1.1 408", bodyAnswer);

        // The half request changed nothing, and the server goes on.
        var (status, answer) = await api.Client.GetAsync("/machine-config");
        Assert.Equal(200, status);
        using var machine = JsonDocument.Parse(answer);
        Assert.Equal(1, machine.RootElement.GetProperty("vcpu_count").GetInt32());
    }
}
