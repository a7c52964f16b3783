using System.Text.Json;
using Ember.Kvm;
using Ember.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Api.Tests;

/// <summary>Firecracker's getting-started sequence over the socket against a real machine on /dev/kvm.</summary>
[Trait("Requires", "kvm")]
public sealed class ApiLifecycleTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    /// <summary>Prints a dot on COM1 every 65,536 turns of a loop, forever: its console file grows while it runs.</summary>
    private static void DottingGuest(Assembler a)
    {
        var loop = a.CreateLabel();
        var skip = a.CreateLabel();
        a.xor(ecx, ecx);
        a.Label(ref loop);
        a.inc(ecx);
        a.test(ecx, 0xFFFF);
        a.jnz(skip);
        GuestCode.Print32(a, ".");
        a.Label(ref skip);
        a.jmp(loop);
    }

    private static long SizeOf(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static void WaitForSizeAbove(string path, long floor)
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (SizeOf(path) <= floor)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the guest's console stayed at {SizeOf(path)} bytes (waiting for more than {floor}) for {SafetyNet.TotalSeconds} s");
            Thread.Sleep(10);
        }
    }

    private static async Task<string> StateOf(ApiClient client)
    {
        var (status, body) = await client.GetAsync("/");
        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("state").GetString()!;
    }

    [Fact]
    public async Task TheGettingStartedSequenceBootsAGuestThatPausesAndResumes()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync();
        string kernel = MultibootImage.WriteTemporary(DottingGuest);
        try
        {
            string console = api.PathOf("serial.log");
            string disk = api.WriteFile("rootfs.ext4", 1 << 20);
            string metrics = api.PathOf("metrics.json");
            var client = api.Client;
            Assert.Equal(204, (await client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}","boot_args":"console=ttyS0 reboot=k panic=1"}""")).Status);
            Assert.Equal(204, (await client.PutAsync("/machine-config", """{"vcpu_count":1,"mem_size_mib":64}""")).Status);
            Assert.Equal(204, (await client.PutAsync("/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{disk}}","is_root_device":true,"is_read_only":false}""")).Status);
            Assert.Equal(204, (await client.PutAsync("/serial", $$"""{"serial_out_path":"{{console}}"}""")).Status);
            Assert.Equal(204, (await client.PutAsync("/metrics", $$"""{"metrics_path":"{{metrics}}"}""")).Status);
            Assert.Equal("Not started", await StateOf(client));

            var (status, body) = await client.PutAsync("/actions", """{"action_type":"InstanceStart"}""");
            Assert.True(status == 204, body);
            Assert.Equal("Running", await StateOf(client));
            WaitForSizeAbove(console, 2);

            Assert.Equal(204, (await client.PatchAsync("/vm", """{"state":"Paused"}""")).Status);
            Assert.Equal("Paused", await StateOf(client));
            long atPause = SizeOf(console);
            Thread.Sleep(300);
            Assert.Equal(atPause, SizeOf(console));
            Assert.Equal("cannot pause the machine: it is already paused", JsonDocument.Parse((await client.PatchAsync("/vm", """{"state":"Paused"}""")).Body).RootElement.GetProperty("fault_message").GetString());

            Assert.Equal(204, (await client.PatchAsync("/vm", """{"state":"Resumed"}""")).Status);
            Assert.Equal("Running", await StateOf(client));
            WaitForSizeAbove(console, atPause);

            // Pre-boot resources and a second start are refused now.
            foreach (var (path, json) in new[]
            {
                ("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}"""),
                ("/machine-config", """{"vcpu_count":2,"mem_size_mib":64}"""),
                ("/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{disk}}","is_root_device":true,"is_read_only":false}"""),
                ("/entropy", "{}"),
                ("/serial", "{}"),
                ("/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"tap0"}"""),
                ("/vsock", $$"""{"guest_cid":3,"uds_path":"{{api.PathOf("v.sock")}}"}"""),
            })
            {
                (status, body) = await client.PutAsync(path, json);
                Assert.Equal(400, status);
                Assert.Contains("can only be configured before the machine starts", body);
            }
            // Firecracker refuses a machine-config PATCH after start too; the size of a running machine stays.
            (status, body) = await client.PatchAsync("/machine-config", """{"mem_size_mib":128}""");
            Assert.Equal(400, status);
            Assert.Equal("the machine configuration can only be configured before the machine starts", JsonDocument.Parse(body).RootElement.GetProperty("fault_message").GetString());
            (_, body) = await client.GetAsync("/machine-config");
            Assert.Equal(64, JsonDocument.Parse(body).RootElement.GetProperty("mem_size_mib").GetInt32());
            (status, body) = await client.PatchAsync("/network-interfaces/eth9", """{"iface_id":"eth9","rx_rate_limiter":{"bandwidth":{"size":1000,"refill_time":100}}}""");
            Assert.Equal(400, status);
            Assert.Equal("iface_id: there is no network interface 'eth9'", JsonDocument.Parse(body).RootElement.GetProperty("fault_message").GetString());
            (status, body) = await client.PatchAsync("/vm", """{"state":"Pause"}""");
            Assert.Equal(400, status);
            Assert.Equal("state: 'Pause' is not one of Paused, Resumed", JsonDocument.Parse(body).RootElement.GetProperty("fault_message").GetString());
            (status, body) = await client.PatchAsync("/vm", "{}");
            Assert.Equal(400, status);
            Assert.Equal("invalid request body: missing required field 'state'", JsonDocument.Parse(body).RootElement.GetProperty("fault_message").GetString());
            Assert.Equal("Running", await StateOf(client));
            (status, body) = await client.PutAsync("/actions", """{"action_type":"InstanceStart"}""");
            Assert.Equal(400, status);
            Assert.Contains("the machine was already started", body);

            Assert.Equal(204, (await client.PutAsync("/actions", """{"action_type":"FlushMetrics"}""")).Status);
            using var line = JsonDocument.Parse(File.ReadAllLines(metrics).Last());
            Assert.Equal("Running", line.RootElement.GetProperty("state").GetString());
            Assert.True(line.RootElement.GetProperty("vcpu").GetProperty("exits_io").GetInt64() > 0);

            // A running drive gets a new backing file; bad patches change nothing.
            string replacement = api.WriteFile("rootfs-2.ext4", 1 << 20);
            (status, body) = await client.PatchAsync("/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{replacement}}"}""");
            Assert.True(status == 204, body);
            (status, body) = await client.PatchAsync("/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{api.PathOf("gone.ext4")}}"}""");
            Assert.Equal(400, status);
            Assert.Contains("does not exist", body);
            (status, body) = await client.PatchAsync("/drives/other", """{"drive_id":"other","path_on_host":"/x"}""");
            Assert.Equal(400, status);
            Assert.Contains("there is no drive 'other'", body);
            (_, body) = await client.GetAsync("/vm/config");
            Assert.Contains($"\"path_on_host\":\"{replacement}\"", body);

            // Rate limiters change at run time: a bucket given replaces the running one, one left out stays.
            (status, body) = await client.PatchAsync("/drives/rootfs", """{"drive_id":"rootfs","rate_limiter":{"bandwidth":{"size":65536,"refill_time":100},"ops":{"size":50,"refill_time":1000}}}""");
            Assert.True(status == 204, body);
            (status, body) = await client.PatchAsync("/drives/rootfs", """{"drive_id":"rootfs","rate_limiter":{"ops":{"size":0,"refill_time":0}}}""");
            Assert.True(status == 204, body);
            (status, body) = await client.PatchAsync("/drives/rootfs", """{"drive_id":"rootfs","rate_limiter":{"ops":{"size":-5,"refill_time":10}}}""");
            Assert.Equal(400, status);
            Assert.Contains("rate_limiter.ops.size: -5 is below the minimum of 0", body);
            (_, body) = await client.GetAsync("/vm/config");
            using var patched = JsonDocument.Parse(body);
            var limiter = patched.RootElement.GetProperty("drives")[0].GetProperty("rate_limiter");
            Assert.Equal(65536, limiter.GetProperty("bandwidth").GetProperty("size").GetInt64());
            Assert.Equal(0, limiter.GetProperty("ops").GetProperty("size").GetInt64());
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>Writes <paramref name="count"/> bytes ('x') to COM1, one OUT each, then exits through the debug port.</summary>
    private static void SerialFlooder(Assembler a, int count)
    {
        var loop = a.CreateLabel();
        a.mov(ecx, count);
        a.mov(dx, GuestCode.Com1);
        a.mov(al, (byte)'x');
        a.Label(ref loop);
        a.@out(dx, al);
        a.dec(ecx);
        a.jnz(loop);
        GuestCode.Exit32(a, 0x33);
    }

    [Fact]
    public async Task TheSerialRateLimiterCapsTheConsoleFileAndCountsWhatItDropped()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        const int Written = 8000, Size = 1000, Burst = 500;
        // An hour to refill: over the test only the full bucket and the burst count, plus what a few seconds bring back.
        const long RefillMs = 3_600_000;
        await using var api = await ApiFixture.StartAsync(adjust: config => config with { DebugExit = true }, instanceId: "api-serial-limit");
        string kernel = MultibootImage.WriteTemporary(a => SerialFlooder(a, Written));
        try
        {
            long observedDropped = -1;
            using var listener = new System.Diagnostics.Metrics.MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == Ember.Vmm.Diagnostics.MachineMetrics.MeterName && instrument.Name == "ember.uart.rate_limiter_dropped_bytes")
                    l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "ember.vm" && (string?)tag.Value == "api-serial-limit")
                        observedDropped = value;
                }
            });
            listener.Start();

            string console = api.PathOf("serial.log");
            string metrics = api.PathOf("metrics.json");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Through --config-file's serial section, which goes through PUT /serial as a request would.
            string file = $$$"""
                {
                  "boot-source": { "kernel_image_path": "{{{kernel}}}" },
                  "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 },
                  "metrics": { "metrics_path": "{{{metrics}}}" },
                  "serial": { "serial_out_path": "{{{console}}}", "rate_limiter": { "size": {{{Size}}}, "one_time_burst": {{{Burst}}}, "refill_time": {{{RefillMs}}} } }
                }
                """;
            Assert.Null(await FirecrackerConfigFile.ApplyAndStartAsync(new FirecrackerApi(api.Controller), System.Text.Encoding.UTF8.GetBytes(file)));
            var exit = await api.Controller.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal((0x33 << 1) | 1, exit.ExitCode);
            double elapsedMs = clock.Elapsed.TotalMilliseconds;

            // The guest wrote every byte; the file has the bucket and the burst, and what refilled meanwhile.
            long kept = SizeOf(console);
            long refilled = (long)Math.Ceiling(Size * elapsedMs / RefillMs) + 1;
            Assert.True(kept >= Size + Burst && kept <= Size + Burst + refilled, $"the console file has {kept} bytes; the bucket allows {Size} + {Burst} burst + {refilled} refilled in {elapsedMs:F0} ms");
            Assert.All(File.ReadAllBytes(console), b => Assert.Equal((byte)'x', b));

            Assert.Equal(204, (await api.Client.PutAsync("/actions", """{"action_type":"FlushMetrics"}""")).Status);
            using var line = JsonDocument.Parse(File.ReadAllLines(metrics).Last());
            long dropped = line.RootElement.GetProperty("uart").GetProperty("rate_limiter_dropped_bytes").GetInt64();
            Assert.Equal(Written - kept, dropped);
            listener.RecordObservableInstruments();
            Assert.Equal(dropped, observedDropped);

            var (status, body) = await api.Client.GetAsync("/vm/config");
            Assert.Equal(200, status);
            using var config = JsonDocument.Parse(body);
            var bucket = config.RootElement.GetProperty("serial").GetProperty("rate_limiter");
            Assert.Equal(((long)Size, (long)Burst, RefillMs), (bucket.GetProperty("size").GetInt64(), bucket.GetProperty("one_time_burst").GetInt64(), bucket.GetProperty("refill_time").GetInt64()));
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task AGuestThatStopsEndsTheControllersMachine()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        // The test devices' debug-exit port lets the guest end itself.
        await using var api = await ApiFixture.StartAsync(adjust: config => config with { DebugExit = true });
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0x11));
        try
        {
            Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":1,"mem_size_mib":32}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{api.PathOf("serial.log")}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""")).Status);
            var exit = await api.Controller.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal((0x11 << 1) | 1, exit.ExitCode);
            var (status, body) = await api.Client.GetAsync("/vm/state");
            Assert.Equal((200, """{"state":"Stopped"}"""), (status, body));
            (status, body) = await api.Client.PatchAsync("/vm", """{"state":"Paused"}""");
            Assert.Equal(400, status);
            Assert.Contains("it has stopped", body);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task SendCtrlAltDelPressesTheKeysOnTheGuestsKeyboard()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        await using var api = await ApiFixture.StartAsync(adjust: config => config with { DebugExit = true });
        // Polls the i8042 like a keyboard driver, echoes each byte to COM1, and exits after eight.
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var poll = a.CreateLabel();
            a.mov(edi, 8);
            a.Label(ref poll);
            a.@in(al, 0x64);
            a.test(al, 1);
            a.jz(poll);
            a.@in(al, 0x60);
            a.mov(dx, 0x3F8);
            a.@out(dx, al);
            a.dec(edi);
            a.jnz(poll);
            GuestCode.Exit32(a, 0x22);
        });
        try
        {
            string console = api.PathOf("serial.log");
            Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":1,"mem_size_mib":32}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{console}}"}""")).Status);
            Assert.Equal(204, (await api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""")).Status);
            var (status, body) = await api.Client.PutAsync("/actions", """{"action_type":"SendCtrlAltDel"}""");
            Assert.True(status == 204, body);
            var exit = await api.Controller.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal((0x22 << 1) | 1, exit.ExitCode);
            Assert.Equal([0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D], File.ReadAllBytes(console));
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
