using System.Buffers.Binary;
using Ember.Devices.Pci;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Tests.Pci;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Transport;
using Ember.Memory;

namespace Ember.Devices.Tests.Virtio.Transport;

public sealed class VirtioPciFunctionTests
{
    private const ulong BarAddress = 0xC100_0000;
    private readonly RecordingVirtioDevice _device = new();
    private readonly RecordingInterruptLine _intx = new();
    private readonly RecordingDoorbells _doorbells = new();
    private RecordingMsiVectorGroup? _vectors;
    private readonly VirtioPciFunction _function;

    public VirtioPciFunctionTests()
    {
        var memory = new ArrayGuestMemory([new GuestMemoryRegion(GuestAddress.Zero, 1 << 20)]);
        _function = new VirtioPciFunction(_device, memory, count => _vectors = new RecordingMsiVectorGroup(count), _intx, _doorbells);
        _function.Configuration.SetBarAddress(0, BarAddress);
        _function.Configuration.GuestWrite16(PciConfigRegisters.Command, (ushort)PciCommand.MemorySpace);
    }

    private IEnumerable<(int Offset, byte Type, byte Bar, uint StructOffset, uint Length)> VirtioCapabilities()
    {
        var config = _function.Configuration;
        int next = config.GuestRead8(PciConfigRegisters.CapabilitiesPointer);
        for (int hops = 0; next != 0 && hops < 48; hops++)
        {
            if (config.GuestRead8(next) == PciCapabilityId.VendorSpecific)
                yield return (next, config.GuestRead8(next + 3), config.GuestRead8(next + 4), config.GuestRead32(next + 8), config.GuestRead32(next + 12));
            next = config.GuestRead8(next + 1);
        }
    }

    private uint Common(uint offset) => ReadBar(VirtioPciLayout.CommonOffset + offset, 4);

    private uint ReadBar(ulong offset, int width)
    {
        Span<byte> data = stackalloc byte[8];
        _function.BarRegion(0)!.Read(offset, data[..width]);
        return (uint)BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private void WriteBar(ulong offset, int width, ulong value)
    {
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        _function.BarRegion(0)!.Write(offset, data[..width]);
    }

    private void WriteCommon(uint offset, int width, ulong value) => WriteBar(VirtioPciLayout.CommonOffset + offset, width, value);

    private byte StatusRead() => (byte)ReadBar(VirtioPciLayout.CommonOffset + 0x14, 1);

    /// <summary>The driver's side of §3.1.1, up to FEATURES_OK, with queue 0 set up.</summary>
    private void NegotiateAndSetUpQueue0(ulong features)
    {
        WriteCommon(0x14, 1, 1);
        WriteCommon(0x14, 1, 3);
        WriteCommon(0x08, 4, 0);
        WriteCommon(0x0C, 4, (uint)features);
        WriteCommon(0x08, 4, 1);
        WriteCommon(0x0C, 4, features >> 32);
        WriteCommon(0x14, 1, 3 | 8);
        WriteCommon(0x16, 2, 0);
        WriteCommon(0x18, 2, 64);
        WriteCommon(0x20, 4, 0x1000);
        WriteCommon(0x24, 4, 0);
        WriteCommon(0x28, 8, 0x2000);
        WriteCommon(0x30, 4, 0x3000);
        WriteCommon(0x34, 4, 0);
        WriteCommon(0x1C, 2, 1);
    }

    [Fact]
    public void IdentityAndCapabilitiesAreWhatALinuxDriverLooksFor()
    {
        var config = _function.Configuration;
        Assert.Equal(0x1AF4, config.GuestRead16(PciConfigRegisters.VendorId));
        Assert.Equal(0x1044, config.GuestRead16(PciConfigRegisters.DeviceId));
        Assert.True(config.GuestRead8(PciConfigRegisters.RevisionId) >= 1);
        var caps = VirtioCapabilities().ToList();
        Assert.Equal([1, 2, 3, 4, 5], caps.Select(c => (int)c.Type).Order());
        Assert.All(caps, c => Assert.Equal(0, c.Bar));
        var common = caps.Single(c => c.Type == 1);
        Assert.Equal((0x0000u, 0x38u), (common.StructOffset, common.Length));
        var notify = caps.Single(c => c.Type == 2);
        Assert.Equal(0x3000u, notify.StructOffset);
        Assert.Equal(4u, config.GuestRead32(notify.Offset + 16));   // notify_off_multiplier
        Assert.Equal(8u, caps.Single(c => c.Type == 4).Length);
        int msix = _function.Configuration.Capabilities.Find(PciCapabilityId.MsiX)!.Value;
        Assert.Equal(_device.QueueCount + 1, (config.GuestRead16(msix + 2) & 0x7FF) + 1);
        Assert.Equal(PciBar.Memory64(VirtioPciLayout.BarSize), config.Bar(0));
    }

    [Fact]
    public void DriverOkActivatesOnceWithTheAgreedFeaturesAndTheQueuesTheDriverEnabled()
    {
        Assert.Equal(2u, ReadBar(VirtioPciLayout.CommonOffset + 0x12, 2));   // num_queues
        WriteCommon(0x00, 4, 1);
        Assert.Equal(1u, Common(0x04));                                        // VERSION_1 is bit 32
        WriteCommon(0x00, 4, 0);
        Assert.Equal((uint)_device.OfferedFeatures, Common(0x04));

        NegotiateAndSetUpQueue0(VirtioFeature.Version1 | 1);
        Assert.Equal(0x0B, StatusRead());
        WriteCommon(0x14, 1, 0x0F);
        WriteCommon(0x14, 1, 0x0F);

        var activation = Assert.Single(_device.Activations);
        Assert.Equal(VirtioFeature.Version1 | 1, activation.Features);
        Assert.Equal(new VirtqueueLayout(64, 0x1000, 0x2000, 0x3000), activation.Queues[0]);
        Assert.Null(activation.Queues[1]);
        // Queue 0's doorbell at BAR + notify offset + 0 × 4; queue 1 was never enabled.
        Assert.Equal([BarAddress + 0x3000], _doorbells.Live.Keys);
        Assert.Equal((ushort)0, _doorbells.QueueIndexes[BarAddress + 0x3000]);
        _doorbells.Live[BarAddress + 0x3000]();
        WriteBar(VirtioPciLayout.NotifyOffset, 2, 0);
        Assert.Equal([0, 0], _device.Notifications);
    }

    [Fact]
    public void EachEnabledQueueGetsADoorbellAtItsOwnAddressForItsOwnIndex()
    {
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x16, 2, 1);
        WriteCommon(0x18, 2, 64);
        WriteCommon(0x20, 4, 0x4000);
        WriteCommon(0x28, 4, 0x5000);
        WriteCommon(0x30, 4, 0x6000);
        WriteCommon(0x1C, 2, 1);
        WriteCommon(0x14, 1, 0x0F);

        // A host that matches exact writes only needs the index: queue 1's bell rings for a 16-bit 1 at BAR + 0x3004.
        Assert.Equal(new Dictionary<ulong, ushort> { [BarAddress + 0x3000] = 0, [BarAddress + 0x3004] = 1 }, _doorbells.QueueIndexes);
        _doorbells.Live[BarAddress + 0x3004]();
        Assert.Equal([1], _device.Notifications);
    }

    [Fact]
    public void FeaturesOkStaysClearForUnofferedFeaturesOrWithoutVersion1()
    {
        NegotiateAndSetUpQueue0(VirtioFeature.Version1 | 1UL << 7);
        Assert.Equal(0x03, StatusRead());
        WriteCommon(0x14, 1, 0);
        NegotiateAndSetUpQueue0(1);
        Assert.Equal(0x03, StatusRead());
        WriteCommon(0x14, 1, 0x0F);                  // DRIVER_OK without FEATURES_OK goes nowhere
        Assert.Empty(_device.Activations);
    }

    [Fact]
    public void ResetForgetsEverythingAndDetachesTheDoorbells()
    {
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x14, 1, 0x0F);
        WriteCommon(0x1A, 2, 1);
        Assert.Single(_doorbells.Live);

        WriteCommon(0x14, 1, 0);

        Assert.Equal(1, _device.Resets);
        Assert.Empty(_doorbells.Live);
        Assert.Equal(0, StatusRead());
        Assert.Equal(0u, ReadBar(VirtioPciLayout.CommonOffset + 0x1C, 2));        // queue_enable
        Assert.Equal(256u, ReadBar(VirtioPciLayout.CommonOffset + 0x18, 2));      // queue_size back to the maximum
        Assert.Equal(0xFFFFu, ReadBar(VirtioPciLayout.CommonOffset + 0x1A, 2));   // NO_VECTOR
        WriteBar(VirtioPciLayout.NotifyOffset, 2, 0);
        Assert.Empty(_device.Notifications);
    }

    [Fact]
    public void QueueRegistersRefuseWhatTheSpecForbids()
    {
        WriteCommon(0x16, 2, 7);                                                  // no such queue
        Assert.Equal(0u, ReadBar(VirtioPciLayout.CommonOffset + 0x18, 2));
        WriteCommon(0x16, 2, 0);
        WriteCommon(0x18, 2, 100);                                                // not a power of two
        WriteCommon(0x18, 2, 512);                                                // above the maximum
        Assert.Equal(256u, ReadBar(VirtioPciLayout.CommonOffset + 0x18, 2));
        WriteCommon(0x1A, 2, 40);                                                 // no such MSI-X vector
        Assert.Equal(0xFFFFu, ReadBar(VirtioPciLayout.CommonOffset + 0x1A, 2));
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x18, 2, 16);                                                 // frozen once enabled
        Assert.Equal(64u, ReadBar(VirtioPciLayout.CommonOffset + 0x18, 2));
    }

    [Fact]
    public void WithMsixDisabledTheIsrIsReadToClearAndDrivesIntx()
    {
        _function.SignalQueue(0);
        Assert.True(_intx.Level);
        _function.SignalConfigurationChange();
        Assert.Equal(3u, ReadBar(VirtioPciLayout.IsrOffset, 1));
        Assert.False(_intx.Level);
        Assert.Equal(0u, ReadBar(VirtioPciLayout.IsrOffset, 1));
        Assert.Equal(1u, ReadBar(VirtioPciLayout.CommonOffset + 0x15, 1));        // config_generation moved
    }

    [Fact]
    public void AUsedBufferWithMsixOffHoldsIntxAssertedUntilTheDriverReadsIsr()
    {
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x14, 1, 0x0F);                                                // DRIVER_OK: the device is live
        Assert.Equal((byte)PciInterruptPin.IntA, _function.Configuration.GuestRead8(PciConfigRegisters.InterruptPin));

        _function.SignalQueue(0);                                                  // what the device does after a used buffer
        _function.SignalQueue(0);
        Assert.True(_intx.Level);
        Assert.Equal(1, _intx.RisingEdges);                                        // a level, not an edge per buffer
        Assert.NotEqual(0, _function.Configuration.GuestRead16(PciConfigRegisters.Status) & (ushort)PciStatus.InterruptStatus);
        ReadBar(VirtioPciLayout.CommonOffset + 0x14, 1);                           // other registers leave it alone
        Assert.True(_intx.Level);

        Assert.Equal(1u, ReadBar(VirtioPciLayout.IsrOffset, 1));                   // bit 0: queue interrupt
        Assert.False(_intx.Level);
        Assert.Equal(0, _function.Configuration.GuestRead16(PciConfigRegisters.Status) & (ushort)PciStatus.InterruptStatus);
    }

    [Fact]
    public void InterruptDisableMasksIntxAndAResetDropsIt()
    {
        _function.Configuration.GuestWrite16(PciConfigRegisters.Command, (ushort)(PciCommand.MemorySpace | PciCommand.InterruptDisable));
        _function.SignalConfigurationChange();
        Assert.False(_intx.Level);
        Assert.True(_function.Intx.IsAsserted);
        _function.Configuration.GuestWrite16(PciConfigRegisters.Command, (ushort)PciCommand.MemorySpace);
        Assert.True(_intx.Level);

        WriteCommon(0x14, 1, 0);                                                   // device reset
        Assert.False(_intx.Level);
        Assert.Equal(0u, ReadBar(VirtioPciLayout.IsrOffset, 1));
    }

    [Fact]
    public void EnablingMsixDropsAnAssertedIntxAndDisablingItBringsItBack()
    {
        int msix = _function.Configuration.Capabilities.Find(PciCapabilityId.MsiX)!.Value;
        _function.SignalQueue(0);
        Assert.True(_intx.Level);

        // PCI 3.0 §6.8.3.3: a function enabled for MSI-X does not use INTx#, even with a request left from before.
        _function.Configuration.GuestWrite16(msix + 2, MsixCapabilityLayout.Enable);
        Assert.False(_intx.Level);
        _function.Configuration.GuestWrite16(msix + 2, 0);
        Assert.True(_intx.Level);
        Assert.Equal(1u, ReadBar(VirtioPciLayout.IsrOffset, 1));
        Assert.False(_intx.Level);
    }

    [Fact]
    public void AnIsrReadRacingSignalsNeverLeavesIntxUpWithIsrClear()
    {
        bool stop = false;
        var signaller = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
                _function.SignalQueue(0);
        });
        signaller.Start();
        for (int i = 0; i < 20_000; i++)
            ReadBar(VirtioPciLayout.IsrOffset, 1);
        Volatile.Write(ref stop, true);
        signaller.Join();
        // Whatever the interleaving, the line is up exactly when ISR has a bit to report.
        bool up = _intx.Level;
        Assert.Equal(up ? 1u : 0u, ReadBar(VirtioPciLayout.IsrOffset, 1));
        Assert.False(_intx.Level);
    }

    [Fact]
    public void WithMsixEnabledAQueueInterruptIsItsVectorAndNoVectorMeansNone()
    {
        int msix = _function.Configuration.Capabilities.Find(PciCapabilityId.MsiX)!.Value;
        _function.Configuration.GuestWrite16(msix + 2, MsixCapabilityLayout.Enable);
        // Unmask vector 2's table entry (vector control at +12).
        WriteBar(VirtioPciLayout.MsixTableOffset + 2 * 16 + 12, 4, 0);
        WriteCommon(0x16, 2, 1);
        WriteCommon(0x1A, 2, 2);
        _vectors!.Calls.Clear();

        _function.SignalQueue(1);
        _function.SignalQueue(0);                                                  // queue 0 has NO_VECTOR

        Assert.Equal([new RecordingMsiVectorGroup.Triggered(2)], _vectors.Calls.OfType<RecordingMsiVectorGroup.Triggered>());
        Assert.False(_intx.Level);
        Assert.Equal(0u, ReadBar(VirtioPciLayout.IsrOffset, 1));
    }

    [Fact]
    public void DoorbellsFollowTheBarAndGoWhenDecodingStops()
    {
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x14, 1, 0x0F);
        _function.Configuration.SetBarAddress(0, 0xC200_0000);
        _function.BarMoved(new PciBarMove(0, PciBar.Memory64(VirtioPciLayout.BarSize), BarAddress, 0xC200_0000));
        Assert.Equal([0xC200_0000UL + 0x3000], _doorbells.Live.Keys);
        _function.BarMoved(new PciBarMove(0, PciBar.Memory64(VirtioPciLayout.BarSize), 0xC200_0000, null));
        Assert.Empty(_doorbells.Live);
    }

    /// <summary>
    /// A real doorbell is an event-loop subscription: (un)registering waits for a running doorbell handler,
    /// and that handler's device signals back into the function. So the function must not hold its lock while
    /// it attaches or detaches doorbells; here another thread signals the function from inside each registration.
    /// </summary>
    [Fact]
    public void DoorbellsAreAttachedAndDetachedWithoutTheFunctionsLockHeld()
    {
        int completed = 0, registrations = 0;
        _doorbells.DuringRegistration = () =>
        {
            registrations++;
            if (Task.Run(() => _function.SignalQueue(0)).Wait(TimeSpan.FromSeconds(30)))
                completed++;
        };
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x14, 1, 0x0F);                                                                  // attach
        _function.BarMoved(new PciBarMove(0, PciBar.Memory64(VirtioPciLayout.BarSize), BarAddress, BarAddress));  // detach, attach
        WriteCommon(0x14, 1, 0);                                                                     // detach
        Assert.Equal(4, registrations);
        Assert.Equal(registrations, completed);
    }

    [Fact]
    public void TheConfigurationAccessWindowReachesTheBar()
    {
        var config = _function.Configuration;
        var window = VirtioCapabilities().Single(c => c.Type == 5).Offset;
        config.GuestWrite8(window + 4, 0);
        config.GuestWrite32(window + 8, VirtioPciLayout.CommonOffset + 0x12);   // num_queues
        config.GuestWrite32(window + 12, 2);
        Assert.Equal(2u, config.GuestRead32(window + 16) & 0xFFFF);
        config.GuestWrite32(window + 8, VirtioPciLayout.CommonOffset + 0x16);   // queue_select
        config.GuestWrite32(window + 16, 1);
        Assert.Equal(1u, ReadBar(VirtioPciLayout.CommonOffset + 0x16, 2));
    }

    [Fact]
    public void DeviceConfigurationIsServedInsideItsLengthOnly()
    {
        Assert.Equal(0x13121110u, ReadBar(VirtioPciLayout.DeviceOffset, 4));
        Assert.Equal(0u, ReadBar(VirtioPciLayout.DeviceOffset + 6, 4));           // runs past the 8 bytes
        WriteBar(VirtioPciLayout.DeviceOffset + 7, 1, 0xEE);
        Assert.Equal(0xEEu, ReadBar(VirtioPciLayout.DeviceOffset + 7, 1));
    }

    [Fact]
    public void NoAccessOfAnyWidthAnywhereInTheBarThrows()
    {
        var random = new Random(1234);
        NegotiateAndSetUpQueue0(VirtioFeature.Version1);
        WriteCommon(0x14, 1, 0x0F);
        for (int i = 0; i < 20000; i++)
        {
            ulong offset = (ulong)random.NextInt64(0, (long)VirtioPciLayout.BarSize + 16);
            int width = random.Next(1, 9);
            if (random.Next(2) == 0)
                ReadBar(offset, width);
            else
                WriteBar(offset, width, (ulong)random.NextInt64());
        }
        Assert.True(_function.IgnoredAccesses > 0);
    }
}
