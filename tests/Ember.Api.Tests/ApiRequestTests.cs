using System.Text.Json;

namespace Ember.Api.Tests;

/// <summary>
/// Firecracker's API over a real Unix socket with a real HttpClient, before any machine starts: every resource
/// and every way a request can be wrong. None of these needs /dev/kvm.
/// </summary>
public sealed class ApiRequestTests
{
    private static string Fault(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("fault_message").GetString()!;
    }

    private static async Task<string> Refused(Task<(int Status, string Body)> request)
    {
        var (status, body) = await request;
        Assert.Equal(400, status);
        return Fault(body);
    }

    [Fact]
    public async Task InstanceInfoVersionAndDefaultMachineConfig()
    {
        await using var api = await ApiFixture.StartAsync();
        var (status, body) = await api.Client.GetAsync("/");
        Assert.Equal(200, status);
        using (var info = JsonDocument.Parse(body))
        {
            Assert.Equal("api-test", info.RootElement.GetProperty("id").GetString());
            Assert.Equal("Not started", info.RootElement.GetProperty("state").GetString());
            Assert.Equal("Ember", info.RootElement.GetProperty("app_name").GetString());
            Assert.Equal(FirecrackerApi.EmberVersion, info.RootElement.GetProperty("vmm_version").GetString());
        }
        (status, body) = await api.Client.GetAsync("/version");
        Assert.Equal(200, status);
        Assert.Equal("""{"firecracker_version":"1.17.0"}""", body);
        (status, body) = await api.Client.GetAsync("/machine-config");
        Assert.Equal(200, status);
        using (var machine = JsonDocument.Parse(body))
        {
            Assert.Equal(1, machine.RootElement.GetProperty("vcpu_count").GetInt32());
            Assert.Equal(128, machine.RootElement.GetProperty("mem_size_mib").GetInt32());
        }
        (status, body) = await api.Client.GetAsync("/vm/state");
        Assert.Equal((200, """{"state":"NotStarted"}"""), (status, body));
    }

    [Fact]
    public async Task ResourcesSetBeforeBootAreInTheVmConfig()
    {
        await using var api = await ApiFixture.StartAsync();
        string kernel = api.WriteFile("vmlinux", 4096);
        string initrd = api.WriteFile("initrd", 4096);
        string disk = api.WriteFile("rootfs.ext4", 1 << 20);
        string data = api.WriteFile("data.img", 1 << 16);
        Assert.Equal(204, (await api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}","boot_args":"console=ttyS0","initrd_path":"{{initrd}}"}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/machine-config", """{"vcpu_count":2,"mem_size_mib":256}""")).Status);
        Assert.Equal(204, (await api.Client.PatchAsync("/machine-config", """{"mem_size_mib":512}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{disk}}","is_root_device":true,"is_read_only":false}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/drives/data", $$$$"""{"drive_id":"data","path_on_host":"{{{{data}}}}","is_root_device":false,"is_read_only":true,"cache_type":"Writeback","rate_limiter":{"bandwidth":{"size":1048576,"one_time_burst":4096,"refill_time":1000},"ops":{"size":100,"refill_time":1000}}}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/entropy", "{}")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{api.PathOf("serial.log")}}"}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/metrics", $$"""{"metrics_path":"{{api.PathOf("metrics.json")}}"}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/logger", $$"""{"log_path":"{{api.PathOf("log.txt")}}","level":"debug"}""")).Status);

        var (status, body) = await api.Client.GetAsync("/vm/config");
        Assert.Equal(200, status);
        using var config = JsonDocument.Parse(body);
        var root = config.RootElement;
        Assert.Equal(kernel, root.GetProperty("boot-source").GetProperty("kernel_image_path").GetString());
        Assert.Equal(initrd, root.GetProperty("boot-source").GetProperty("initrd_path").GetString());
        Assert.Equal(2, root.GetProperty("machine-config").GetProperty("vcpu_count").GetInt32());
        Assert.Equal(512, root.GetProperty("machine-config").GetProperty("mem_size_mib").GetInt32());
        var drives = root.GetProperty("drives").EnumerateArray().ToList();
        Assert.Equal(["rootfs", "data"], drives.Select(d => d.GetProperty("drive_id").GetString()));
        Assert.True(drives[1].GetProperty("is_read_only").GetBoolean());
        Assert.Equal("Writeback", drives[1].GetProperty("cache_type").GetString());
        var limiter = drives[1].GetProperty("rate_limiter");
        Assert.Equal(1048576, limiter.GetProperty("bandwidth").GetProperty("size").GetInt64());
        Assert.Equal(4096, limiter.GetProperty("bandwidth").GetProperty("one_time_burst").GetInt64());
        Assert.Equal(1000, limiter.GetProperty("bandwidth").GetProperty("refill_time").GetInt64());
        Assert.Equal(100, limiter.GetProperty("ops").GetProperty("size").GetInt64());
        Assert.False(drives[0].TryGetProperty("rate_limiter", out _));
        Assert.False(root.GetProperty("entropy").TryGetProperty("rate_limiter", out _));
        Assert.Equal(api.PathOf("metrics.json"), root.GetProperty("metrics").GetProperty("metrics_path").GetString());

        // A second PUT of the same drive replaces it; the order stays.
        Assert.Equal(204, (await api.Client.PutAsync("/drives/data", $$"""{"drive_id":"data","path_on_host":"{{data}}","is_root_device":false,"is_read_only":false}""")).Status);
        (_, body) = await api.Client.GetAsync("/vm/config");
        using var again = JsonDocument.Parse(body);
        Assert.False(again.RootElement.GetProperty("drives")[1].GetProperty("is_read_only").GetBoolean());
        Assert.Equal(2, again.RootElement.GetProperty("drives").GetArrayLength());
    }

    [Fact]
    public async Task BadBodiesAreRefusedWithAFaultMessageNamingTheField()
    {
        await using var api = await ApiFixture.StartAsync();
        string kernel = api.WriteFile("vmlinux", 4096);
        Assert.Equal("invalid request body: unknown field 'kernel_imag_path'", await Refused(api.Client.PutAsync("/boot-source", """{"kernel_imag_path":"/x"}""")));
        Assert.Equal("invalid request body: missing required field 'kernel_image_path'", await Refused(api.Client.PutAsync("/boot-source", """{"boot_args":"x"}""")));
        Assert.Equal("invalid request body: field 'vcpu_count' has the wrong type", await Refused(api.Client.PutAsync("/machine-config", """{"vcpu_count":"2","mem_size_mib":128}""")));
        Assert.StartsWith("invalid request body: malformed JSON at line 1", await Refused(api.Client.PutAsync("/machine-config", """{"vcpu_count":2,""")));
        Assert.Equal("the request needs a JSON body", await Refused(api.Client.SendAsync("PUT", "/boot-source")));
        Assert.Equal("invalid request body: it must be a JSON object", await Refused(api.Client.PutAsync("/boot-source", "[1,2]")));
        Assert.Equal("vcpu_count: missing (a required field)", await Refused(api.Client.PutAsync("/machine-config", """{"mem_size_mib":128}""")));
        Assert.Equal("vcpu_count: 33 is outside 1 to 32", await Refused(api.Client.PutAsync("/machine-config", """{"vcpu_count":33,"mem_size_mib":128}""")));
        Assert.Equal("vcpu_count: with smt it must be 1 or even, not 3", await Refused(api.Client.PutAsync("/machine-config", """{"vcpu_count":3,"mem_size_mib":128,"smt":true}""")));
        Assert.Equal("huge_pages: 'Huge' is not one of None, Transparent, 2M", await Refused(api.Client.PatchAsync("/machine-config", """{"huge_pages":"Huge"}""")));
        Assert.Equal($"kernel_image_path: the kernel image {api.PathOf("missing")} does not exist", await Refused(api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{api.PathOf("missing")}}"}""")));
        Assert.Equal($"kernel_image_path: the kernel image {api.Directory.FullName} is a directory", await Refused(api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{api.Directory.FullName}}"}""")));
        Assert.Equal($"initrd_path: the initrd {api.PathOf("none")} does not exist", await Refused(api.Client.PutAsync("/boot-source", $$"""{"kernel_image_path":"{{kernel}}","initrd_path":"{{api.PathOf("none")}}"}""")));
        Assert.Equal("drive_id: the body names 'b' but the path names 'a'", await Refused(api.Client.PutAsync("/drives/a", $$"""{"drive_id":"b","path_on_host":"{{kernel}}","is_root_device":false,"is_read_only":true}""")));
        Assert.Equal("is_read_only: missing (required for a virtio-block drive)", await Refused(api.Client.PutAsync("/drives/a", $$"""{"drive_id":"a","path_on_host":"{{kernel}}","is_root_device":false}""")));
        Assert.Equal("invalid request body: missing required field 'is_root_device'", await Refused(api.Client.PutAsync("/drives/a", $$"""{"drive_id":"a","path_on_host":"{{kernel}}","is_read_only":true}""")));
        Assert.StartsWith("socket: Ember has no vhost-user-block backend", await Refused(api.Client.PutAsync("/drives/a", """{"drive_id":"a","socket":"/tmp/x","is_root_device":false}""")));
        Assert.Equal("rate_limiter.bandwidth.size: -1 is below the minimum of 0", await Refused(api.Client.PutAsync("/drives/a", $$$$"""{"drive_id":"a","path_on_host":"{{{{kernel}}}}","is_root_device":false,"is_read_only":true,"rate_limiter":{"bandwidth":{"size":-1,"refill_time":100}}}""")));
        Assert.Equal("invalid request body: missing required field 'refill_time'", await Refused(api.Client.PutAsync("/drives/a", $$$$"""{"drive_id":"a","path_on_host":"{{{{kernel}}}}","is_root_device":false,"is_read_only":true,"rate_limiter":{"ops":{"size":10}}}""")));
        Assert.Equal("rate_limiter.bandwidth.refill_time: -1 is below the minimum of 0", await Refused(api.Client.PutAsync("/entropy", """{"rate_limiter":{"bandwidth":{"size":10,"refill_time":-1}}}""")));
        Assert.Equal("invalid request body: unknown field 'rate'", await Refused(api.Client.PutAsync("/entropy", """{"rate":{}}""")));
        Assert.Equal("iface_id: the body names 'b' but the path names 'a'", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"b","host_dev_name":"tap0"}""")));
        Assert.Equal("invalid request body: missing required field 'host_dev_name'", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a"}""")));
        Assert.Equal("invalid request body: unknown field 'host_dev'", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a","host_dev":"tap0","host_dev_name":"tap0"}""")));
        Assert.StartsWith("guest_mac: ", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a","host_dev_name":"tap0","guest_mac":"zz"}""")));
        Assert.StartsWith("host_dev_name: ", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a","host_dev_name":"bad/name"}""")));
        Assert.Equal("mtu: Ember does not offer VIRTIO_NET_F_MTU yet; leave it out", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a","host_dev_name":"tap0","mtu":1500}""")));
        Assert.Equal("rx_rate_limiter.ops.size: -1 is below the minimum of 0", await Refused(api.Client.PutAsync("/network-interfaces/a", """{"iface_id":"a","host_dev_name":"tap0","rx_rate_limiter":{"ops":{"size":-1,"refill_time":10}}}""")));
        Assert.Equal(204, (await api.Client.PutAsync("/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"02:00:00:00:00:01","tx_rate_limiter":{"bandwidth":{"size":1000,"refill_time":100}}}""")).Status);
        Assert.Contains("tap0", await Refused(api.Client.PutAsync("/network-interfaces/eth1", """{"iface_id":"eth1","host_dev_name":"tap0"}""")));
        Assert.Contains("updating a network interface", await Refused(api.Client.PatchAsync("/network-interfaces/eth0", """{"iface_id":"eth0"}""")));
        var (_, withNet) = await api.Client.GetAsync("/vm/config");
        using (var net = JsonDocument.Parse(withNet))
        {
            var eth0 = net.RootElement.GetProperty("network-interfaces")[0];
            Assert.Equal("tap0", eth0.GetProperty("host_dev_name").GetString());
            Assert.Equal("02:00:00:00:00:01", eth0.GetProperty("guest_mac").GetString());
            Assert.Equal(1000, eth0.GetProperty("tx_rate_limiter").GetProperty("bandwidth").GetProperty("size").GetInt64());
        }
        Assert.Equal("action_type: 'Reboot' is not one of FlushMetrics, InstanceStart, SendCtrlAltDel, SendNmi", await Refused(api.Client.PutAsync("/actions", """{"action_type":"Reboot"}""")));
        Assert.Equal("state: 'Stopped' is not one of Paused, Resumed", await Refused(api.Client.PatchAsync("/vm", """{"state":"Stopped"}""")));
        Assert.Equal("level: 'Loud' is not one of Error, Warning, Info, Debug, Trace, Off", await Refused(api.Client.PutAsync("/logger", """{"level":"Loud"}""")));
        Assert.Equal($"metrics_path: the directory of the metrics file {api.PathOf("no/such/m.json")} does not exist", await Refused(api.Client.PutAsync("/metrics", $$"""{"metrics_path":"{{api.PathOf("no/such/m.json")}}"}""")));

        // Two root devices, and a drive too small to hold a sector.
        string disk = api.WriteFile("disk", 4096);
        Assert.Equal(204, (await api.Client.PutAsync("/drives/root", $$"""{"drive_id":"root","path_on_host":"{{disk}}","is_root_device":true,"is_read_only":false}""")).Status);
        Assert.Equal("is_root_device: drive 'root' is already the root device", await Refused(api.Client.PutAsync("/drives/other", $$"""{"drive_id":"other","path_on_host":"{{disk}}","is_root_device":true,"is_read_only":false}""")));
        string tiny = api.WriteFile("tiny", 100);
        Assert.Equal($"path_on_host: the drive image {tiny} is smaller than one 512-byte sector", await Refused(api.Client.PutAsync("/drives/t", $$"""{"drive_id":"t","path_on_host":"{{tiny}}","is_root_device":false,"is_read_only":true}""")));

        // Nothing refused was stored.
        var (_, config) = await api.Client.GetAsync("/vm/config");
        using var json = JsonDocument.Parse(config);
        Assert.False(json.RootElement.TryGetProperty("boot-source", out _));
        Assert.Equal(1, json.RootElement.GetProperty("drives").GetArrayLength());
        Assert.Equal(1, json.RootElement.GetProperty("machine-config").GetProperty("vcpu_count").GetInt32());
    }

    [Fact]
    public async Task TheSerialConsoleTakesOneTokenBucketOfBytesAndShowsIt()
    {
        await using var api = await ApiFixture.StartAsync();
        string console = api.PathOf("serial.log");
        Assert.Equal(204, (await api.Client.PutAsync("/serial", $$$"""{"serial_out_path":"{{{console}}}","rate_limiter":{"size":1000,"one_time_burst":500,"refill_time":3600000}}""")).Status);

        // The spec's rate_limiter here is a TokenBucket, not a RateLimiter: there are no operations to count.
        Assert.Equal("invalid request body: rate_limiter.ops: the serial console's rate_limiter is one token bucket of bytes (size, refill_time, one_time_burst), without bandwidth or ops",
            await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"ops":{"size":10,"refill_time":100}}}""")));
        Assert.Equal("invalid request body: rate_limiter.bandwidth: the serial console's rate_limiter is one token bucket of bytes (size, refill_time, one_time_burst), without bandwidth or ops",
            await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"bandwidth":{"size":10,"refill_time":100}}}""")));
        Assert.Equal("rate_limiter.size: -1 is below the minimum of 0", await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"size":-1,"refill_time":100}}""")));
        Assert.Equal("rate_limiter.refill_time: -5 is below the minimum of 0", await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"size":10,"refill_time":-5}}""")));
        Assert.Equal("rate_limiter.one_time_burst: -1 is below the minimum of 0", await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"size":10,"refill_time":100,"one_time_burst":-1}}""")));
        Assert.Equal("invalid request body: missing required field 'refill_time'", await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"size":10}}""")));
        Assert.Equal("invalid request body: field 'size' has the wrong type", await Refused(api.Client.PutAsync("/serial", """{"rate_limiter":{"size":"big","refill_time":100}}""")));

        // Nothing refused replaced what was set.
        var (status, body) = await api.Client.GetAsync("/vm/config");
        Assert.Equal(200, status);
        using (var json = JsonDocument.Parse(body))
        {
            var serial = json.RootElement.GetProperty("serial");
            Assert.Equal(console, serial.GetProperty("serial_out_path").GetString());
            var bucket = serial.GetProperty("rate_limiter");
            Assert.Equal(1000, bucket.GetProperty("size").GetInt64());
            Assert.Equal(500, bucket.GetProperty("one_time_burst").GetInt64());
            Assert.Equal(3600000, bucket.GetProperty("refill_time").GetInt64());
        }

        // A second PUT replaces the whole resource: without a rate_limiter, output is not limited.
        Assert.Equal(204, (await api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{console}}"}""")).Status);
        (_, body) = await api.Client.GetAsync("/vm/config");
        using var again = JsonDocument.Parse(body);
        Assert.False(again.RootElement.GetProperty("serial").TryGetProperty("rate_limiter", out _));
    }

    [Fact]
    public async Task BadSerialAndLoggerPathsAndUnknownFieldsAreRefusedByField()
    {
        await using var api = await ApiFixture.StartAsync();
        string noDirectory = api.PathOf("no/such/file");
        string directory = api.Directory.FullName;
        Assert.Equal($"serial_out_path: the directory of the serial output file {noDirectory} does not exist", await Refused(api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{noDirectory}}"}""")));
        Assert.Equal($"serial_out_path: the serial output file {directory} is a directory", await Refused(api.Client.PutAsync("/serial", $$"""{"serial_out_path":"{{directory}}"}""")));
        Assert.Equal("serial_out_path: the serial output file path is empty", await Refused(api.Client.PutAsync("/serial", """{"serial_out_path":""}""")));
        Assert.Equal("invalid request body: unknown field 'serial_path'", await Refused(api.Client.PutAsync("/serial", """{"serial_path":"/tmp/x"}""")));
        Assert.Equal("invalid request body: field 'serial_out_path' has the wrong type", await Refused(api.Client.PutAsync("/serial", """{"serial_out_path":5}""")));

        Assert.Equal($"log_path: the directory of the log file {noDirectory} does not exist", await Refused(api.Client.PutAsync("/logger", $$"""{"log_path":"{{noDirectory}}"}""")));
        Assert.Equal($"log_path: the log file {directory} is a directory", await Refused(api.Client.PutAsync("/logger", $$"""{"log_path":"{{directory}}"}""")));
        Assert.Equal("invalid request body: unknown field 'log_file'", await Refused(api.Client.PutAsync("/logger", """{"log_file":"/tmp/x"}""")));
        Assert.Equal("invalid request body: field 'show_level' has the wrong type", await Refused(api.Client.PutAsync("/logger", """{"show_level":"yes"}""")));

        var (_, body) = await api.Client.GetAsync("/vm/config");
        using var json = JsonDocument.Parse(body);
        Assert.False(json.RootElement.TryGetProperty("serial", out _));
        Assert.False(json.RootElement.TryGetProperty("logger", out _));
    }

    [Fact]
    public async Task ActionsAndStateChangesWithBrokenBodiesAreRefusedByField()
    {
        await using var api = await ApiFixture.StartAsync();
        Assert.Equal("invalid request body: missing required field 'action_type'", await Refused(api.Client.PutAsync("/actions", "{}")));
        Assert.Equal("invalid request body: unknown field 'action'", await Refused(api.Client.PutAsync("/actions", """{"action":"InstanceStart"}""")));
        Assert.Equal("invalid request body: field 'action_type' has the wrong type", await Refused(api.Client.PutAsync("/actions", """{"action_type":1}""")));
        Assert.Equal("action_type: null is not one of FlushMetrics, InstanceStart, SendCtrlAltDel, SendNmi", await Refused(api.Client.PutAsync("/actions", """{"action_type":null}""")));
        Assert.Equal("the request needs a JSON body", await Refused(api.Client.SendAsync("PUT", "/actions")));
        Assert.Equal("invalid request body: missing required field 'state'", await Refused(api.Client.PatchAsync("/vm", "{}")));
        Assert.Equal("invalid request body: unknown field 'State'", await Refused(api.Client.PatchAsync("/vm", """{"State":"Paused"}""")));
        Assert.Equal("state: null is not one of Paused, Resumed", await Refused(api.Client.PatchAsync("/vm", """{"state":null}""")));
        Assert.StartsWith("invalid request body: malformed JSON at line 1", await Refused(api.Client.PatchAsync("/vm", """{"state":"Paused" """)));
        Assert.StartsWith("invalid request body: malformed JSON at line 1", await Refused(api.Client.PatchAsync("/vm", """{"state":Paused}""")));
        Assert.Equal("the request needs a JSON body", await Refused(api.Client.SendAsync("PATCH", "/vm")));
        Assert.Equal("NotStarted", JsonDocument.Parse((await api.Client.GetAsync("/vm/state")).Body).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task TheEntropyDevicesRateLimiterIsKeptAndShownAndASecondPutReplacesIt()
    {
        await using var api = await ApiFixture.StartAsync();
        Assert.Equal(204, (await api.Client.PutAsync("/entropy", """{"rate_limiter":{"bandwidth":{"size":4096,"one_time_burst":512,"refill_time":100},"ops":{"size":10,"refill_time":1000}}}""")).Status);
        var (_, body) = await api.Client.GetAsync("/vm/config");
        using (var json = JsonDocument.Parse(body))
        {
            var limiter = json.RootElement.GetProperty("entropy").GetProperty("rate_limiter");
            Assert.Equal(4096, limiter.GetProperty("bandwidth").GetProperty("size").GetInt64());
            Assert.Equal(512, limiter.GetProperty("bandwidth").GetProperty("one_time_burst").GetInt64());
            Assert.Equal(100, limiter.GetProperty("bandwidth").GetProperty("refill_time").GetInt64());
            Assert.Equal(10, limiter.GetProperty("ops").GetProperty("size").GetInt64());
        }
        Assert.Equal(204, (await api.Client.PutAsync("/entropy", "{}")).Status);
        (_, body) = await api.Client.GetAsync("/vm/config");
        using var again = JsonDocument.Parse(body);
        Assert.False(again.RootElement.GetProperty("entropy").TryGetProperty("rate_limiter", out _));
    }

    [Fact]
    public async Task UnknownPathsMethodsAndUnservedEndpointsAre400NeverA404()
    {
        await using var api = await ApiFixture.StartAsync();
        Assert.Equal("Invalid request method and/or path: GET /nothing", await Refused(api.Client.GetAsync("/nothing")));
        Assert.Equal("Invalid request method and/or path: DELETE /machine-config", await Refused(api.Client.SendAsync("DELETE", "/machine-config")));
        Assert.Equal("Invalid request method and/or path: GET /boot-source", await Refused(api.Client.GetAsync("/boot-source")));
        Assert.Equal("Invalid request method and/or path: PUT /drives", await Refused(api.Client.PutAsync("/drives", "{}")));
        foreach (var (method, path) in new[] { ("PUT", "/balloon"), ("GET", "/balloon/statistics"), ("PUT", "/mmds"), ("PUT", "/mmds/config"), ("PUT", "/snapshot/create"), ("PUT", "/snapshot/load"), ("PUT", "/pmem/p0"), ("PUT", "/hotplug/memory") })
            Assert.EndsWith("is not supported by Ember yet", await Refused(api.Client.SendAsync(method, path, "{}")));
        Assert.StartsWith("PUT /cpu-config: Ember has no CPU templates", await Refused(api.Client.PutAsync("/cpu-config", "{}")));
    }

    [Fact]
    public async Task ActionsBeforeStartAreRefusedWithTheReason()
    {
        await using var api = await ApiFixture.StartAsync();
        Assert.Equal("boot-source: no kernel was configured (PUT /boot-source first)", await Refused(api.Client.PutAsync("/actions", """{"action_type":"InstanceStart"}""")));
        Assert.Equal("pausing is only possible after the machine has started", await Refused(api.Client.PatchAsync("/vm", """{"state":"Paused"}""")));
        Assert.Equal("resuming is only possible after the machine has started", await Refused(api.Client.PatchAsync("/vm", """{"state":"Resumed"}""")));
        Assert.Equal("SendCtrlAltDel is only possible after the machine has started", await Refused(api.Client.PutAsync("/actions", """{"action_type":"SendCtrlAltDel"}""")));
        Assert.Equal("sending an NMI is only possible after the machine has started", await Refused(api.Client.PutAsync("/actions", """{"action_type":"SendNmi"}""")));
        Assert.Equal("FlushMetrics needs a metrics file: PUT /metrics or --metrics-path first", await Refused(api.Client.PutAsync("/actions", """{"action_type":"FlushMetrics"}""")));
        Assert.Equal("updating a drive is only possible after the machine has started", await Refused(api.Client.PatchAsync("/drives/a", """{"drive_id":"a"}""")));
    }

    [Fact]
    public async Task FlushMetricsAppendsOneJsonLinePerFlush()
    {
        await using var api = await ApiFixture.StartAsync();
        string metrics = api.PathOf("metrics.json");
        Assert.Equal(204, (await api.Client.PutAsync("/metrics", $$"""{"metrics_path":"{{metrics}}"}""")).Status);
        Assert.Equal("metrics_path: the metrics system is already initialised", await Refused(api.Client.PutAsync("/metrics", $$"""{"metrics_path":"{{metrics}}"}""")));
        Assert.Equal(204, (await api.Client.PutAsync("/actions", """{"action_type":"FlushMetrics"}""")).Status);
        Assert.Equal(204, (await api.Client.PutAsync("/actions", """{"action_type":"FlushMetrics"}""")).Status);
        var lines = File.ReadAllLines(metrics);
        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("NotStarted", second.RootElement.GetProperty("state").GetString());
        Assert.Equal(2, second.RootElement.GetProperty("api_server").GetProperty("metrics_flushes").GetInt32());
    }

    [Fact]
    public async Task ABodyOverThePayloadLimitIsA400AndTheServerGoesOn()
    {
        await using var api = await ApiFixture.StartAsync(maxPayload: 1024);
        string big = $$"""{"kernel_image_path":"{{new string('x', 2000)}}"}""";
        Assert.Equal("Request payload with size 2024 is larger than the limit of 1024 allowed by server (--http-api-max-payload-size)", await Refused(api.Client.PutAsync("/boot-source", big)));
        Assert.Equal(200, (await api.Client.GetAsync("/")).Status);
    }

    [Fact]
    public async Task ManyConcurrentConnectionsAreAllServed()
    {
        await using var api = await ApiFixture.StartAsync();
        var clients = Enumerable.Range(0, 64).Select(_ => new ApiClient(api.Server.SocketPath)).ToList();
        try
        {
            var results = await Task.WhenAll(clients.Select(async (client, i) => i % 2 == 0
                ? await client.GetAsync("/machine-config")
                : await client.PatchAsync("/machine-config", $$"""{"mem_size_mib":{{128 + i}}}""")));
            Assert.All(results, r => Assert.True(r.Status is 200 or 204, $"status {r.Status}: {r.Body}"));
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    [Fact]
    public async Task ASecondServerOnTheSameSocketFailsWithOneClearLine()
    {
        await using var api = await ApiFixture.StartAsync();
        using var other = new Ember.Vmm.Control.VmController();
        var e = await Assert.ThrowsAsync<Ember.Sys.SystemCallException>(() => ApiServer.StartAsync(new FirecrackerApi(other), api.Server.SocketPath, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal($"cannot listen on {api.Server.SocketPath}: another program is listening on it; stop it or choose another path", e.Message);
        Assert.Equal(200, (await api.Client.GetAsync("/")).Status);
    }
}
