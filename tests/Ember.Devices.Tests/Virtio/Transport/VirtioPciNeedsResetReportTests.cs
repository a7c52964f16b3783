using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Transport;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio.Transport;

/// <summary>The transport tells the VMM once per driver reset that its device entered DEVICE_NEEDS_RESET (for a rate-limited log line).</summary>
public sealed class VirtioPciNeedsResetReportTests
{
    private readonly RecordingVirtioDevice _device = new();
    private readonly List<IVirtioDevice> _reports = [];
    private readonly VirtioPciFunction _function;

    public VirtioPciNeedsResetReportTests()
    {
        var memory = new ArrayGuestMemory([new GuestMemoryRegion(GuestAddress.Zero, 1 << 20)]);
        _function = new VirtioPciFunction(_device, memory, count => new RecordingMsiVectorGroup(count), new RecordingInterruptLine(), needsReset: _reports.Add);
    }

    private void WriteStatus(byte status) =>
        _function.BarRegion(VirtioPciLayout.Bar)!.Write(VirtioPciLayout.CommonOffset + 0x14, [status]);

    [Fact]
    public void AConfigurationChangeOfAHealthyDeviceIsNoReport()
    {
        _function.SignalConfigurationChange();
        Assert.Empty(_reports);
    }

    [Fact]
    public void ABrokenDeviceIsReportedOnceUntilTheDriverResetsIt()
    {
        _device.NeedsReset = true;
        _function.SignalConfigurationChange();
        _function.SignalConfigurationChange();
        Assert.Equal([_device], _reports);

        WriteStatus(0);
        _function.SignalConfigurationChange();
        Assert.Equal(2, _reports.Count);
    }
}
