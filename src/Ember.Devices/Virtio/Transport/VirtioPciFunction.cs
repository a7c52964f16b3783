using System.Buffers.Binary;
using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Pci;
using Ember.Memory;

namespace Ember.Devices.Virtio.Transport;

/// <summary>
/// A modern virtio-pci function (virtio 1.2 §4.1) around any <see cref="IVirtioDevice"/>: vendor 0x1AF4,
/// device 0x1040 + type, no legacy I/O BAR. BAR 0 holds the common configuration, ISR status, device
/// configuration, notification and MSI-X structures (<see cref="VirtioPciLayout"/>), each announced by a
/// vendor-specific capability, plus the PCI configuration access capability. Interrupts go through MSI-X;
/// with MSI-X disabled, through the ISR byte and the INTx line.
/// Threat model: the guest drives every register. Accesses that do not match a field's width and offset
/// are ignored and read zero (the spec requires drivers to use the field's width; 64-bit fields may also be
/// written as two dwords). Queue sizes must be powers of two up to the device's maximum; queue registers
/// are frozen while the queue is enabled; features the device did not offer keep FEATURES_OK clear; the
/// device is activated at most once per reset. Nothing here throws on guest input.
/// </summary>
public sealed class VirtioPciFunction : IPciDevice, IVirtioInterrupt
{
    private const ushort ConfigMsixVectorOffset = 0x10;

    private readonly Lock _lock = new();
    private readonly IVirtioDevice _device;
    private readonly IGuestMemory _memory;
    private readonly PciIntxLine _intx;
    private readonly IQueueDoorbells? _doorbells;
    private readonly MsixController _msix;
    private readonly PciBarRegion _bar;
    private readonly VirtioPciQueueRegisters[] _queues;
    private readonly List<IDisposable> _attachedDoorbells = [];
    private uint _deviceFeatureSelect;
    private uint _driverFeatureSelect;
    private ulong _driverFeatures;
    private ushort _configMsixVector = VirtioPciLayout.NoVector;
    private VirtioDeviceStatus _status;
    private byte _configGeneration;
    private ushort _queueSelect;
    private byte _isr;
    private bool _activated;
    private readonly Action<IVirtioDevice>? _needsReset;
    private bool _needsResetReported;
    private int _doorbellGeneration;
    private long _ignoredAccesses;
    private long _notifyRegionWrites;
    private long _interruptsSignalled;

    /// <param name="device">The device model.</param>
    /// <param name="memory">Guest RAM, for the device's queues.</param>
    /// <param name="createVectors">Makes the MSI-X vector group for a number of vectors (the VMM's interrupt controller).</param>
    /// <param name="intx">The function's INTx line, used when the driver leaves MSI-X disabled.</param>
    /// <param name="doorbells">Where queue notify addresses become ioeventfds; null for none.</param>
    /// <param name="needsReset">Told, once per driver reset, when the device enters DEVICE_NEEDS_RESET (for the VMM's log); on the thread that broke it.</param>
    public VirtioPciFunction(IVirtioDevice device, IGuestMemory memory, Func<int, IMsiVectorGroup> createVectors, IInterruptLine intx, IQueueDoorbells? doorbells = null, Action<IVirtioDevice>? needsReset = null)
    {
        _needsReset = needsReset;
        ArgumentNullException.ThrowIfNull(createVectors);
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _memory = memory ?? throw new ArgumentNullException(nameof(memory));
        ArgumentNullException.ThrowIfNull(intx);
        _doorbells = doorbells;
        if (device.QueueCount is < 1 or > (int)(VirtioPciLayout.PageSize / VirtioPciLayout.NotifyOffMultiplier))
            throw new ArgumentException($"a virtio-pci function has 1 to 1024 queues, not {device.QueueCount}", nameof(device));
        if (device.ConfigurationLength is < 0 or > (int)VirtioPciLayout.DeviceLengthMax)
            throw new ArgumentException("the device configuration structure does not fit its 4 KiB page", nameof(device));
        if (device.MaxQueueSize is 0 or > 32768 || (device.MaxQueueSize & (device.MaxQueueSize - 1)) != 0)
            throw new ArgumentException($"maximum queue size {device.MaxQueueSize} is not a power of two up to 32768", nameof(device));

        _queues = new VirtioPciQueueRegisters[device.QueueCount];
        for (int i = 0; i < _queues.Length; i++)
            _queues[i] = new VirtioPciQueueRegisters(device.MaxQueueSize);

        Configuration = new PciConfigSpace(new PciFunctionIdentity(
            VirtioPciLayout.VendorId, (ushort)(VirtioPciLayout.ModernDeviceIdBase + (ushort)device.Type), ClassOf(device.Type))
        {
            RevisionId = 1,
            SubsystemVendorId = VirtioPciLayout.VendorId,
            SubsystemId = (ushort)(VirtioPciLayout.ModernDeviceIdBase + (ushort)device.Type),
            InterruptPin = PciInterruptPin.IntA,
        });
        _intx = new PciIntxLine(Configuration, intx);
        Configuration.SetBar(VirtioPciLayout.Bar, PciBar.Memory64(VirtioPciLayout.BarSize));
        AddVirtioCapability(VirtioPciCapabilityType.CommonConfiguration, VirtioPciLayout.CommonOffset, VirtioPciLayout.CommonLength);
        AddVirtioCapability(VirtioPciCapabilityType.Notifications, VirtioPciLayout.NotifyOffset,
            (uint)_queues.Length * VirtioPciLayout.NotifyOffMultiplier, VirtioPciLayout.NotifyOffMultiplier);
        AddVirtioCapability(VirtioPciCapabilityType.InterruptStatus, VirtioPciLayout.IsrOffset, VirtioPciLayout.IsrLength);
        if (device.ConfigurationLength > 0)
            AddVirtioCapability(VirtioPciCapabilityType.DeviceConfiguration, VirtioPciLayout.DeviceOffset, (uint)device.ConfigurationLength);
        ConfigurationAccess = new VirtioPciConfigurationAccess(this);
        ConfigurationAccess.AddTo(Configuration);

        int vectors = _queues.Length + 1;
        _msix = new MsixController(Configuration, createVectors(vectors),
            VirtioPciLayout.Bar, VirtioPciLayout.MsixTableOffset, VirtioPciLayout.Bar, VirtioPciLayout.MsixPbaOffset);
        _intx.GateOnMsix(Configuration, Configuration.Capabilities.Find(PciCapabilityId.MsiX)!.Value);

        _bar = new PciBarRegion(VirtioPciLayout.BarSize);
        _bar.Add(VirtioPciLayout.CommonOffset, VirtioPciLayout.PageSize, new BarPart(ReadCommon, WriteCommon));
        _bar.Add(VirtioPciLayout.IsrOffset, VirtioPciLayout.PageSize, new BarPart(ReadIsr, (_, _) => { }));
        _bar.Add(VirtioPciLayout.DeviceOffset, VirtioPciLayout.PageSize, new BarPart(ReadDevice, WriteDevice));
        _bar.Add(VirtioPciLayout.NotifyOffset, VirtioPciLayout.PageSize, new BarPart((_, data) => data.Clear(), WriteNotify));
        _bar.Add(VirtioPciLayout.MsixTableOffset, VirtioPciLayout.PageSize, _msix.Table);
        _bar.Add(VirtioPciLayout.MsixPbaOffset, VirtioPciLayout.PageSize, _msix.PendingBits);
    }

    public PciConfigSpace Configuration { get; }

    /// <summary>The VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.9).</summary>
    internal VirtioPciConfigurationAccess ConfigurationAccess { get; }

    public IVirtioDevice Device => _device;

    public MsixController Msix => _msix;

    /// <summary>Register accesses ignored for their width, offset or timing.</summary>
    public long IgnoredAccesses => Interlocked.Read(ref _ignoredAccesses);

    /// <summary>
    /// Queue notifications that reached the notify region as MMIO exits. With doorbells attached (ioeventfds)
    /// KVM swallows them, so this stays where it was while the queues work.
    /// </summary>
    public long NotifyRegionWrites => Interlocked.Read(ref _notifyRegionWrites);

    /// <summary>Queue and configuration-change interrupts the device raised (whether or not a vector was mapped).</summary>
    public long InterruptsSignalled => Interlocked.Read(ref _interruptsSignalled);

    /// <summary>The function's INTx output (used while MSI-X is disabled): asserted from a used buffer or configuration change until the driver reads ISR.</summary>
    public PciIntxLine Intx => _intx;

    /// <summary>The current device_status as the driver reads it.</summary>
    public VirtioDeviceStatus Status
    {
        get
        {
            lock (_lock)
                return CurrentStatus();
        }
    }

    /// <summary>How many doorbells (ioeventfds) are attached now.</summary>
    public int AttachedDoorbells
    {
        get
        {
            lock (_lock)
                return _attachedDoorbells.Count;
        }
    }

    public IBusDevice? BarRegion(int index) => index == VirtioPciLayout.Bar ? _bar : null;

    /// <summary>Reads or writes BAR 0 by offset, for the configuration access window.</summary>
    internal void AccessBar(ulong offset, Span<byte> data, bool write)
    {
        if (offset >= VirtioPciLayout.BarSize || (ulong)data.Length > VirtioPciLayout.BarSize - offset)
            return;
        if (write)
            _bar.Write(offset, data);
        else
            _bar.Read(offset, data);
    }

    public void BarMoved(PciBarMove move)
    {
        if (move.Index != VirtioPciLayout.Bar)
            return;
        List<IDisposable> stale;
        bool activated;
        lock (_lock)
        {
            stale = TakeDoorbells();
            activated = _activated;
        }
        DisposeAll(stale);
        if (activated)
            AttachDoorbells(move.NewAddress);
    }

    // ---- IVirtioInterrupt ---------------------------------------------------------------------------

    public void SignalQueue(int queue)
    {
        if ((uint)queue >= (uint)_queues.Length)
            return;
        ushort vector;
        lock (_lock)
            vector = _queues[queue].MsixVector;
        Signal(vector, isrBit: 1);
    }

    public void SignalConfigurationChange()
    {
        ushort vector;
        bool report = false;
        // A device announces DEVICE_NEEDS_RESET with this interrupt (virtio 1.2 §2.1.2); asked outside the lock,
        // since the device answers under its own.
        bool broken = _needsReset is not null && _device.NeedsReset;
        lock (_lock)
        {
            vector = _configMsixVector;
            _configGeneration++;
            if (broken && !_needsResetReported)
                report = _needsResetReported = true;
        }
        Signal(vector, isrBit: 2);
        if (report)
            _needsReset!(_device);
    }

    private void Signal(ushort vector, byte isrBit)
    {
        Interlocked.Increment(ref _interruptsSignalled);
        if (_msix.IsEnabled)
        {
            // §4.1.5.1.2: with MSI-X on, a NO_VECTOR mapping means no interrupt at all.
            if (vector != VirtioPciLayout.NoVector)
                _msix.Notify(vector);
            return;
        }
        // §4.1.4.5.2: set the ISR bit and assert INTx, a level that stays up until the driver reads ISR. Both under
        // the lock, so an ISR read racing this signal cannot leave the line asserted with ISR clear.
        lock (_lock)
        {
            _isr |= isrBit;
            _intx.SetAsserted(true);
        }
    }

    // ---- ISR status (§4.1.4.5): read to clear, which also deasserts INTx -----------------------------

    private void ReadIsr(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset != 0 || data.Length != 1)
        {
            Interlocked.Increment(ref _ignoredAccesses);
            return;
        }
        lock (_lock)
        {
            data[0] = _isr;
            _isr = 0;
            _intx.SetAsserted(false);
        }
    }

    // ---- Device configuration ------------------------------------------------------------------------

    private void ReadDevice(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset >= (ulong)_device.ConfigurationLength || (ulong)data.Length > (ulong)_device.ConfigurationLength - offset)
        {
            Interlocked.Increment(ref _ignoredAccesses);
            return;
        }
        _device.ReadConfiguration((int)offset, data);
    }

    private void WriteDevice(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset >= (ulong)_device.ConfigurationLength || (ulong)data.Length > (ulong)_device.ConfigurationLength - offset)
        {
            Interlocked.Increment(ref _ignoredAccesses);
            return;
        }
        _device.WriteConfiguration((int)offset, data);
    }

    // ---- Notifications (§4.1.4.4): each queue at queue_index * multiplier -----------------------------

    private void WriteNotify(ulong offset, ReadOnlySpan<byte> data)
    {
        Interlocked.Increment(ref _notifyRegionWrites);
        ulong queue = offset / VirtioPciLayout.NotifyOffMultiplier;
        bool live;
        lock (_lock)
            live = _activated && queue < (ulong)_queues.Length && _queues[queue].Enabled;
        if (!live)
        {
            Interlocked.Increment(ref _ignoredAccesses);
            return;
        }
        // Outside the lock: the device takes its own and may signal back into this function.
        _device.Notify((int)queue);
    }

    // ---- Common configuration (§4.1.4.3) ------------------------------------------------------------

    private void ReadCommon(ulong offset, Span<byte> data)
    {
        data.Clear();
        ulong value;
        lock (_lock)
        {
            if (!TryReadCommon(offset, data.Length, out value))
            {
                Interlocked.Increment(ref _ignoredAccesses);
                return;
            }
        }
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)(value >> (8 * i));
    }

    private bool TryReadCommon(ulong offset, int width, out ulong value)
    {
        var queue = SelectedQueue();
        value = 0;
        switch (offset, width)
        {
            case (0x00, 4): value = _deviceFeatureSelect; return true;
            case (0x04, 4): value = _deviceFeatureSelect < 2 ? (uint)(OfferedFeatures >> (int)(32 * _deviceFeatureSelect)) : 0; return true;
            case (0x08, 4): value = _driverFeatureSelect; return true;
            case (0x0C, 4): value = _driverFeatureSelect < 2 ? (uint)(_driverFeatures >> (int)(32 * _driverFeatureSelect)) : 0; return true;
            case (ConfigMsixVectorOffset, 2): value = _configMsixVector; return true;
            case (0x12, 2): value = (ulong)_queues.Length; return true;
            case (0x14, 1): value = (ulong)CurrentStatus(); return true;
            case (0x15, 1): value = _configGeneration; return true;
            case (0x16, 2): value = _queueSelect; return true;
            case (0x18, 2): value = queue?.Size ?? 0; return true;
            case (0x1A, 2): value = queue?.MsixVector ?? VirtioPciLayout.NoVector; return true;
            case (0x1C, 2): value = queue is { Enabled: true } ? 1UL : 0; return true;
            case (0x1E, 2): value = queue is null ? 0UL : _queueSelect; return true;
        }
        if (offset is >= 0x20 and < 0x38 && width is 4 or 8 && (offset & ((ulong)width - 1)) == 0 && (offset & 7) + (ulong)width <= 8)
        {
            ulong field = queue is null ? 0 : ((offset - 0x20) / 8) switch
            {
                0 => queue.DescriptorArea,
                1 => queue.DriverArea,
                _ => queue.DeviceArea,
            };
            value = (offset & 4) != 0 ? field >> 32 : field;
            if (width == 4)
                value &= 0xFFFF_FFFF;
            return true;
        }
        return false;
    }

    private void WriteCommon(ulong offset, ReadOnlySpan<byte> data)
    {
        ulong value = 0;
        for (int i = 0; i < data.Length && i < 8; i++)
            value |= (ulong)data[i] << (8 * i);
        bool handled;
        bool activate = false;
        bool reset = false;
        List<IDisposable> stale;
        lock (_lock)
        {
            handled = TryWriteCommon(offset, data.Length, value, ref activate, ref reset);
            stale = reset ? TakeDoorbells() : [];
        }
        if (!handled)
            Interlocked.Increment(ref _ignoredAccesses);
        if (reset)
        {
            DisposeAll(stale);
            _device.Reset();
        }
        if (activate)
            Activate();
    }

    private bool TryWriteCommon(ulong offset, int width, ulong value, ref bool activate, ref bool reset)
    {
        var queue = SelectedQueue();
        bool queueWritable = queue is { Enabled: false } && !_activated;
        switch (offset, width)
        {
            case (0x00, 4): _deviceFeatureSelect = (uint)value; return true;
            case (0x08, 4): _driverFeatureSelect = (uint)value; return true;
            case (0x0C, 4):
                if ((_status & VirtioDeviceStatus.FeaturesOk) != 0 || _driverFeatureSelect >= 2)
                    return false;
                int shift = (int)(32 * _driverFeatureSelect);
                _driverFeatures = (_driverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift);
                return true;
            case (ConfigMsixVectorOffset, 2): _configMsixVector = ValidVector((ushort)value); return true;
            case (0x14, 1): WriteStatus((VirtioDeviceStatus)(byte)value, ref activate, ref reset); return true;
            case (0x16, 2): _queueSelect = (ushort)value; return true;
            case (0x18, 2):
                ushort size = (ushort)value;
                // Split rings need a power of two; packed rings any size up to the maximum (virtio 1.2 §2.8.10.1).
                bool packed = (_status & VirtioDeviceStatus.FeaturesOk) != 0 && (_driverFeatures & VirtioFeature.RingPacked) != 0;
                if (!queueWritable || size == 0 || size > _device.MaxQueueSize || (!packed && (size & (size - 1)) != 0))
                    return false;
                queue!.Size = size;
                return true;
            case (0x1A, 2):
                if (queue is null)
                    return false;
                // The vector may be remapped at any time (§4.1.5.1.2); an unusable one reads back NO_VECTOR.
                queue.MsixVector = ValidVector((ushort)value);
                return true;
            case (0x1C, 2):
                // Only 1 may be written (§4.1.4.3.2): queues are disabled by a device reset.
                if (!queueWritable || value != 1)
                    return false;
                queue!.Enabled = true;
                return true;
        }
        if (offset is >= 0x20 and < 0x38 && width is 4 or 8 && (offset & ((ulong)width - 1)) == 0 && queueWritable)
        {
            ref ulong field = ref AreaField(queue!, (offset - 0x20) / 8);
            if (width == 8)
                field = value;
            else if ((offset & 4) == 0)
                field = (field & 0xFFFF_FFFF_0000_0000) | (value & 0xFFFF_FFFF);
            else
                field = (field & 0xFFFF_FFFF) | ((value & 0xFFFF_FFFF) << 32);
            return true;
        }
        return false;
    }

    private static ref ulong AreaField(VirtioPciQueueRegisters queue, ulong index)
    {
        if (index == 0)
            return ref queue.DescriptorArea;
        if (index == 1)
            return ref queue.DriverArea;
        return ref queue.DeviceArea;
    }

    private void WriteStatus(VirtioDeviceStatus written, ref bool activate, ref bool reset)
    {
        if (written == VirtioDeviceStatus.None)
        {
            ResetTransport();
            reset = true;
            return;
        }
        var status = written & ~VirtioDeviceStatus.DeviceNeedsReset;
        // FEATURES_OK sticks only if the driver asked for a subset of what was offered, VERSION_1 included.
        if ((status & VirtioDeviceStatus.FeaturesOk) != 0 && (_status & VirtioDeviceStatus.FeaturesOk) == 0)
        {
            bool acceptable = (_driverFeatures & ~OfferedFeatures) == 0 && (_driverFeatures & VirtioFeature.Version1) != 0;
            if (!acceptable)
                status &= ~VirtioDeviceStatus.FeaturesOk;
        }
        else if ((_status & VirtioDeviceStatus.FeaturesOk) == 0)
        {
            status &= ~VirtioDeviceStatus.FeaturesOk;
        }
        if ((status & VirtioDeviceStatus.DriverOk) != 0 && (status & VirtioDeviceStatus.FeaturesOk) == 0)
            status &= ~VirtioDeviceStatus.DriverOk;
        _status = status;
        if ((status & VirtioDeviceStatus.DriverOk) != 0 && !_activated)
        {
            _activated = true;
            activate = true;
        }
    }

    private void Activate()
    {
        VirtioActivation activation;
        lock (_lock)
        {
            var layouts = _queues.Select(q => q.Enabled
                ? new VirtqueueLayout(q.Size, q.DescriptorArea, q.DriverArea, q.DeviceArea)
                : (VirtqueueLayout?)null).ToArray();
            activation = new VirtioActivation(_driverFeatures, _memory, layouts, this);
        }
        _device.Activate(activation);
        AttachDoorbells(Configuration.DecodedBarAddress(VirtioPciLayout.Bar));
    }

    private void ResetTransport()
    {
        _needsResetReported = false;
        _doorbellGeneration++;
        _activated = false;
        _status = VirtioDeviceStatus.None;
        _driverFeatures = 0;
        _deviceFeatureSelect = _driverFeatureSelect = 0;
        _configMsixVector = VirtioPciLayout.NoVector;
        _queueSelect = 0;
        _isr = 0;
        _intx.SetAsserted(false);
        foreach (var queue in _queues)
            queue.Reset(_device.MaxQueueSize);
    }

    /// <summary>
    /// Attaches a doorbell per enabled queue at <paramref name="barAddress"/>. Registering and removing
    /// doorbells happens outside <see cref="_lock"/>: the I/O loop holds its dispatch lock while a doorbell
    /// runs the device, and the device signals back into this function, which takes <see cref="_lock"/>.
    /// A reset or BAR move while the doorbells were being attached makes them stale; they are dropped.
    /// </summary>
    private void AttachDoorbells(ulong? barAddress)
    {
        if (_doorbells is null || barAddress is not { } bar)
            return;
        int generation;
        List<int> queues;
        lock (_lock)
        {
            if (!_activated)
                return;
            generation = ++_doorbellGeneration;
            queues = [.. Enumerable.Range(0, _queues.Length).Where(q => _queues[q].Enabled)];
        }
        var attached = new List<IDisposable>();
        foreach (int queue in queues)
        {
            var doorbell = _doorbells.Attach(bar + VirtioPciLayout.NotifyOffset + (ulong)queue * VirtioPciLayout.NotifyOffMultiplier,
                (ushort)queue, () => _device.Notify(queue));
            if (doorbell is not null)
                attached.Add(doorbell);
        }
        lock (_lock)
        {
            if (generation == _doorbellGeneration && _activated)
            {
                _attachedDoorbells.AddRange(attached);
                return;
            }
        }
        DisposeAll(attached);
    }

    /// <summary>Takes the attached doorbells (under the lock) for the caller to dispose outside it.</summary>
    private List<IDisposable> TakeDoorbells()
    {
        _doorbellGeneration++;
        var taken = new List<IDisposable>(_attachedDoorbells);
        _attachedDoorbells.Clear();
        return taken;
    }

    private static void DisposeAll(List<IDisposable> doorbells)
    {
        foreach (var doorbell in doorbells)
            doorbell.Dispose();
    }

    private VirtioDeviceStatus CurrentStatus() =>
        _device.NeedsReset && _activated ? _status | VirtioDeviceStatus.DeviceNeedsReset : _status;

    private ulong OfferedFeatures => _device.OfferedFeatures | VirtioFeature.Version1;

    private VirtioPciQueueRegisters? SelectedQueue() => _queueSelect < _queues.Length ? _queues[_queueSelect] : null;

    private ushort ValidVector(ushort vector) => vector < _msix.VectorCount ? vector : VirtioPciLayout.NoVector;

    private void AddVirtioCapability(VirtioPciCapabilityType type, uint offset, uint length, uint? notifyMultiplier = null)
    {
        // struct virtio_pci_cap after cap_vndr/cap_next: cap_len, cfg_type, bar, id, padding[2], offset, length.
        int bodyLength = notifyMultiplier is null ? 14 : 18;
        Span<byte> body = stackalloc byte[bodyLength];
        body.Clear();
        body[0] = (byte)(bodyLength + PciCapabilityList.HeaderLength);
        body[1] = (byte)type;
        body[2] = VirtioPciLayout.Bar;
        BinaryPrimitives.WriteUInt32LittleEndian(body[6..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body[10..], length);
        if (notifyMultiplier is { } multiplier)
            BinaryPrimitives.WriteUInt32LittleEndian(body[14..], multiplier);
        Configuration.Capabilities.Add(PciCapabilityId.VendorSpecific, body);
    }

    private static PciClassCode ClassOf(VirtioDeviceType type) => type switch
    {
        VirtioDeviceType.Block => new PciClassCode(0x01, 0x00, 0x00),    // mass storage (as QEMU's virtio-blk)
        VirtioDeviceType.Network => new PciClassCode(0x02, 0x00, 0x00),  // Ethernet controller
        VirtioDeviceType.Console => new PciClassCode(0x07, 0x80, 0x00),  // other communication controller
        _ => new PciClassCode(0xFF, 0x00, 0x00),                          // no class defined
    };
}
