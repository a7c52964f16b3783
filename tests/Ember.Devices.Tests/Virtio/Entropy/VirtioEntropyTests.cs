using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Entropy;
using Ember.Devices.Virtio.Queues;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Entropy;

/// <summary>virtio-rng (virtio 1.2 §5.4) and, through it, what every queue device does on activate, notify and reset.</summary>
public sealed class VirtioEntropyTests
{
    private readonly VirtqueueTestDriver _driver = new();
    private readonly RecordingVirtioInterrupt _interrupt = new();

    private void Activate(VirtioQueueDevice device, ulong features = VirtqueueTestDriver.AllFeatures, VirtqueueLayout? layout = null) =>
        device.Activate(new VirtioActivation(features, _driver.Memory, [layout ?? _driver.Layout], _interrupt));

    [Fact]
    public void DescribesItselfAsAnEntropyDevice()
    {
        var device = new VirtioEntropy();

        Assert.Equal(VirtioDeviceType.Entropy, device.Type);
        Assert.Equal(1, device.QueueCount);
        Assert.Equal(VirtioQueueDevice.CommonFeatures, device.OfferedFeatures);
        Assert.Equal(0, device.ConfigurationLength);
        Assert.Equal(VirtioEntropy.DefaultQueueSize, device.MaxQueueSize);
    }

    [Fact]
    public void FillsWritableBuffersWithRandomBytesAndReportsTheLength()
    {
        var a = _driver.Writable(100, fill: 0);
        var b = _driver.Writable(156, fill: 0);
        ushort head = _driver.Post(a, b);
        var device = new VirtioEntropy();
        Activate(device);

        device.Notify(0);

        Assert.Equal(1, _driver.UsedIndex);
        Assert.Equal((head, 256u), _driver.Used(0));
        var bytes = _driver.ReadBytes(a.Address, 100).Concat(_driver.ReadBytes(b.Address, 156)).ToArray();
        // 256 bytes from a CSPRNG take at least 100 distinct values with overwhelming probability.
        Assert.True(bytes.Distinct().Count() > 100, "the buffer does not look random");
        Assert.Equal([0], _interrupt.QueueSignals);
    }

    [Fact]
    public void EachRequestGetsAtMost64KiB()
    {
        var big = _driver.Writable(100 * 1024, fill: 0);
        _driver.Post(big);
        var source = new CountingEntropySource();
        var device = new VirtioEntropy(source);
        Activate(device);

        device.Notify(0);

        Assert.Equal(VirtioEntropy.MaxBytesPerRequest, (int)_driver.Used(0).Length);
        Assert.Equal([VirtioEntropy.MaxBytesPerRequest], source.Requests);
        Assert.NotEqual(0, _driver.ReadBytes(big.Address + VirtioEntropy.MaxBytesPerRequest - 1, 1)[0]);
        Assert.Equal(0, _driver.ReadBytes(big.Address + VirtioEntropy.MaxBytesPerRequest, 1)[0]);
    }

    [Fact]
    public void ReadableBuffersAreIgnored()
    {
        var input = _driver.Readable([1, 2, 3]);
        var output = _driver.Writable(8, fill: 0);
        _driver.Post(input, output);
        var device = new VirtioEntropy(new CountingEntropySource());
        Activate(device);

        device.Notify(0);

        Assert.Equal(8u, _driver.Used(0).Length);
        Assert.Equal([1, 2, 3], _driver.ReadBytes(input.Address, 3));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], _driver.ReadBytes(output.Address, 8));
    }

    [Fact]
    public void ChainWithoutWritableBuffersIsAnsweredWithLengthZero()
    {
        _driver.Post(_driver.Readable([1]));
        var device = new VirtioEntropy();
        Activate(device);

        device.Notify(0);

        Assert.Equal(1, _driver.UsedIndex);
        Assert.Equal(0u, _driver.Used(0).Length);
        Assert.Equal(1, device.DroppedChains);
    }

    [Fact]
    public void AllAvailableChainsAreAnsweredWithOneInterrupt()
    {
        for (int i = 0; i < 5; i++)
            _driver.Post(_driver.Writable(4));
        var device = new VirtioEntropy();
        Activate(device);

        device.Notify(0);

        Assert.Equal(5, _driver.UsedIndex);
        Assert.Equal([0], _interrupt.QueueSignals);
        Assert.Equal(5, _driver.AvailEvent);
    }

    [Fact]
    public void UsedEventAheadSuppressesTheInterrupt()
    {
        _driver.UsedEvent = 10;
        _driver.Post(_driver.Writable(4));
        var device = new VirtioEntropy();
        Activate(device);

        device.Notify(0);

        Assert.Equal(1, _driver.UsedIndex);
        Assert.Empty(_interrupt.QueueSignals);
    }

    [Fact]
    public void NoInterruptFlagSuppressesTheInterruptWithoutEventIndex()
    {
        _driver.AvailFlags = SplitRing.AvailNoInterrupt;
        _driver.Post(_driver.Writable(4));
        var device = new VirtioEntropy();
        Activate(device, VirtioFeature.Version1);

        device.Notify(0);

        Assert.Equal(1, _driver.UsedIndex);
        Assert.Empty(_interrupt.QueueSignals);
    }

    [Fact]
    public void MalformedChainIsDroppedAndTheNextOneServed()
    {
        _driver.Post(_driver.Writable(4), _driver.Readable([1]));
        ushort good = _driver.Post(_driver.Writable(4));
        var device = new VirtioEntropy();
        Activate(device);

        device.Notify(0);

        Assert.Equal(2, _driver.UsedIndex);
        Assert.Equal(0u, _driver.Used(0).Length);
        Assert.Equal((good, 4u), _driver.Used(1));
        Assert.Equal(1, device.DroppedChains);
        Assert.False(device.NeedsReset);
    }

    [Fact]
    public void BadLayoutAtActivationNeedsResetAndSaysSo()
    {
        var device = new VirtioEntropy();

        Activate(device, layout: _driver.Layout with { DescriptorArea = 8 });
        _driver.Post(_driver.Writable(4));
        device.Notify(0);

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.DescriptorAreaMisaligned, device.GetQueueFault(0));
        Assert.Equal(1, _interrupt.ConfigurationChanges);
        Assert.Equal(0, _driver.UsedIndex);
    }

    [Fact]
    public void QueueSizeAboveTheDeviceMaximumNeedsReset()
    {
        var device = new VirtioEntropy(maxQueueSize: 8);

        Activate(device);

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.InvalidSize, device.GetQueueFault(0));
    }

    [Fact]
    public void RingBrokenDuringNotifyNeedsResetOnceAndStopsTheDevice()
    {
        var device = new VirtioEntropy();
        Activate(device);
        _driver.Post(_driver.Writable(4));
        device.Notify(0);

        _driver.WriteAvailIndexRaw(1000);
        device.Notify(0);
        device.Notify(0);

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.AvailIndexTooFarAhead, device.GetQueueFault(0));
        Assert.Equal(1, _interrupt.ConfigurationChanges);
        Assert.Equal(1, _driver.UsedIndex);
    }

    [Fact]
    public void ResetForgetsTheQueuesAndActivationStartsAfresh()
    {
        var device = new VirtioEntropy();
        Activate(device, layout: _driver.Layout with { DescriptorArea = 8 });
        Assert.True(device.NeedsReset);

        device.Reset();
        _driver.Post(_driver.Writable(4));
        device.Notify(0);
        Assert.False(device.NeedsReset);
        Assert.Equal(0, _driver.UsedIndex);
        Assert.Equal(0UL, device.NegotiatedFeatures);

        Activate(device);
        device.Notify(0);
        Assert.Equal(1, _driver.UsedIndex);
    }

    [Fact]
    public void NotifyBeforeActivationOrForAnotherQueueIsIgnored()
    {
        var device = new VirtioEntropy();
        _driver.Post(_driver.Writable(4));

        device.Notify(0);
        Activate(device);
        device.Notify(1);
        device.Notify(-1);

        Assert.Equal(0, _driver.UsedIndex);
        device.Notify(0);
        Assert.Equal(1, _driver.UsedIndex);
    }

    [Fact]
    public void DisabledQueueIsNotAnError()
    {
        var device = new VirtioEntropy();

        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, _driver.Memory, [null], _interrupt));
        device.Notify(0);

        Assert.False(device.NeedsReset);
        Assert.Equal(QueueFault.None, device.GetQueueFault(0));
    }

    [Fact]
    public void NegotiatedFeaturesAreWhatWasOfferedAndAccepted()
    {
        var device = new VirtioEntropy();

        Activate(device, VirtioFeature.Version1 | VirtioFeature.InOrder | (1UL << 60));

        Assert.Equal(VirtioFeature.Version1, device.NegotiatedFeatures);
    }

    [Fact]
    public void ConcurrentNotificationsAnswerEveryChainOnce()
    {
        var driver = new VirtqueueTestDriver(size: 256);
        for (int i = 0; i < 256; i++)
            driver.Post(driver.Writable(64));
        var device = new VirtioEntropy();
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures, driver.Memory, [driver.Layout], _interrupt));

        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 50; i++)
                device.Notify(0);
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();

        Assert.Equal(256, driver.UsedIndex);
        var ids = Enumerable.Range(0, 256).Select(i => driver.Used((ushort)i)).ToArray();
        Assert.Equal(256, ids.Select(u => u.Id).Distinct().Count());
        Assert.All(ids, u => Assert.Equal(64u, u.Length));
        Assert.False(device.NeedsReset);
    }
}
