// The control plane's figures against a real `ember` process (give it the Native AOT binary):
//   dotnet run -c Release --project bench/Ember.Bench.Api -- artifacts/ember-aot/ember
// 1. process start to API socket ready (wall and CPU time of the ember process), over 30 starts;
// 2. API latency per request type, p50 and p99 over 1000 requests each;
// 3. InstanceStart sent to the guest's first byte on ember's stdout (a guest whose first instructions write COM1).
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Ember.TestGuests;

if (args is ["--write-guest", var guestPath])
{
    // For scripts/aot-api-check.sh: the guest it boots, a line on COM1 and a reset through the i8042.
    File.WriteAllBytes(guestPath, MultibootImage.Build(a =>
    {
        GuestCode.Print32(a, "hello from the guest\n");
        a.mov(Iced.Intel.AssemblerRegisters.al, 0xFE);
        a.@out(0x64, Iced.Intel.AssemblerRegisters.al);
        a.hlt();
    }));
    return;
}
string ember = args.Length > 0 ? Path.GetFullPath(args[0]) : throw new ArgumentException("usage: Ember.Bench.Api EMBER-BINARY");
var dir = Directory.CreateTempSubdirectory("ember-bench-api-");
string socket = Path.Combine(dir.FullName, "api.sock");
string kernel = Path.Combine(dir.FullName, "guest.elf");
File.WriteAllBytes(kernel, MultibootImage.Build(a => { GuestCode.Print32(a, "!"); GuestCode.Exit32(a, 0); }));

Process Spawn()
{
    var info = new ProcessStartInfo(ember) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
    foreach (var a in new[] { "--api-sock", socket })
        info.ArgumentList.Add(a);
    return Process.Start(info)!;
}

bool CanConnect()
{
    using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    try { s.Connect(new UnixDomainSocketEndPoint(socket)); return true; } catch (SocketException) { return false; }
}

// The CPU time of every thread of the process, in ns: /proc/PID/task/TID/schedstat's first field is the time the
// scheduler ran that thread (exact, unlike /proc/PID/stat's 10 ms ticks). Read at once after the first connect
// succeeds; a thread that already ended would be missed, but ember starts none that end before its socket listens.
double CpuMs(Process p)
{
    long ns = 0;
    foreach (var task in Directory.EnumerateDirectories($"/proc/{p.Id}/task"))
    {
        try { ns += long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (IOException) { }
    }
    return ns / 1e6;
}

HttpClient Client() => new(new SocketsHttpHandler
{
    ConnectCallback = async (_, ct) =>
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
        return new NetworkStream(s, ownsSocket: true);
    },
}) { BaseAddress = new Uri("http://localhost") };

double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

// 1. Start to socket ready.
var wall = new List<double>();
var cpu = new List<double>();
var threads = new List<int>();
for (int run = 0; run < 30; run++)
{
    File.Delete(socket);
    var clock = Stopwatch.StartNew();
    using var p = Spawn();
    while (!CanConnect())
        Thread.SpinWait(1000);
    wall.Add(clock.Elapsed.TotalMilliseconds);
    cpu.Add(CpuMs(p));
    threads.Add(Directory.GetDirectories($"/proc/{p.Id}/task").Length);
    p.Kill();
    p.WaitForExit();
}
wall.Sort();
cpu.Sort();
threads.Sort();
Console.WriteLine($"start to API socket ready ({wall.Count} starts): wall median {Percentile(wall, 0.5):0.0} ms (min {wall[0]:0.0}, max {wall[^1]:0.0}); "
    + $"ember CPU time median {Percentile(cpu, 0.5):0.00} ms (min {cpu[0]:0.00}, max {cpu[^1]:0.00}); threads {threads[0]}-{threads[^1]}");
if (args.Contains("--start-only"))
{
    dir.Delete(recursive: true);
    return;
}

// 2. Latency per request type.
File.Delete(socket);
using (var server = Spawn())
{
    while (!CanConnect())
        Thread.Sleep(1);
    using var http = Client();
    var requests = new (string Name, Func<HttpRequestMessage> Make)[]
    {
        ("GET /", () => new(HttpMethod.Get, "/")),
        ("GET /machine-config", () => new(HttpMethod.Get, "/machine-config")),
        ("PUT /machine-config", () => new(HttpMethod.Put, "/machine-config") { Content = new StringContent("""{"vcpu_count":1,"mem_size_mib":64}""", Encoding.UTF8, "application/json") }),
        ("PUT /boot-source", () => new(HttpMethod.Put, "/boot-source") { Content = new StringContent($$"""{"kernel_image_path":"{{kernel}}"}""", Encoding.UTF8, "application/json") }),
        ("GET /vm/config", () => new(HttpMethod.Get, "/vm/config")),
        ("PUT /drives (400, bad field)", () => new(HttpMethod.Put, "/drives/x") { Content = new StringContent("""{"drive_id":"x","bogus":1}""", Encoding.UTF8, "application/json") }),
    };
    Console.WriteLine("| request | p50 µs | p99 µs |");
    Console.WriteLine("| --- | --- | --- |");
    foreach (var (name, make) in requests)
    {
        for (int i = 0; i < 100; i++)
            (await http.SendAsync(make())).Dispose();
        var times = new List<double>();
        for (int i = 0; i < 1000; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(make());
            await response.Content.ReadAsByteArrayAsync();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        times.Sort();
        Console.WriteLine($"| {name} | {Percentile(times, 0.5):0} | {Percentile(times, 0.99):0} |");
    }

    // 3. InstanceStart to the guest's first output byte.
    var firstByte = new TaskCompletionSource<long>();
    var reader = Task.Run(() =>
    {
        int b = server.StandardOutput.BaseStream.ReadByte();
        firstByte.TrySetResult(Stopwatch.GetTimestamp());
        return b;
    });
    long sent = Stopwatch.GetTimestamp();
    using var start = await http.PutAsync("/actions", new StringContent("""{"action_type":"InstanceStart"}""", Encoding.UTF8, "application/json"));
    long answered = Stopwatch.GetTimestamp();
    long seen = await firstByte.Task.WaitAsync(TimeSpan.FromSeconds(60));
    Console.WriteLine($"InstanceStart ({(int)start.StatusCode}): answered after {Stopwatch.GetElapsedTime(sent, answered).TotalMilliseconds:0.0} ms, guest's first byte on stdout after {Stopwatch.GetElapsedTime(sent, seen).TotalMilliseconds:0.0} ms");
    server.WaitForExit(60_000);
}
dir.Delete(recursive: true);
