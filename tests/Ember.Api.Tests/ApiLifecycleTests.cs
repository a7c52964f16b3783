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
            })
            {
                (status, body) = await client.PutAsync(path, json);
                Assert.Equal(400, status);
                Assert.Contains("can only be configured before the machine starts", body);
            }
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
