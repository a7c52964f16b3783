using System.Diagnostics.CodeAnalysis;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// What split and packed virtqueues share: the negotiated settings they were made with, the bounds derived from them,
/// and the fault that breaks the queue. Each ring kind keeps its own ring logic; this holds only what is the same.
/// </summary>
/// <remarks>
/// A bad layout gives a queue that is broken from the start rather than an exception; once broken a queue does
/// nothing (the first fault stays, so the report names the cause, not a consequence).
/// </remarks>
public abstract class Virtqueue : IVirtqueue
{
    /// <param name="features">The negotiated feature bits (INDIRECT_DESC and EVENT_IDX matter here).</param>
    /// <param name="maxSize">The device's largest queue size; the driver's choice must not exceed it, nor an indirect table's entry count.</param>
    /// <param name="ringMaxQueueSize">The largest size this ring kind can have at all.</param>
    /// <param name="validate">Checks the layout against memory and the device's effective maximum size.</param>
    private protected Virtqueue(
        VirtqueueLayout layout, IGuestMemory memory, ulong features, ushort maxSize, int ringMaxQueueSize,
        Func<VirtqueueLayout, IGuestMemory, int, QueueFault> validate)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Memory = memory;
        Layout = layout;
        Features = features;
        MaxSize = maxSize;
        Size = layout.Size;
        IndirectAllowed = (features & VirtioFeature.IndirectDescriptors) != 0;
        EventIndex = (features & VirtioFeature.EventIndex) != 0;
        int deviceMax = Math.Min((int)maxSize, ringMaxQueueSize);
        // Indirect tables are bounded by the device's maximum, not the size the driver picked: a driver sizes
        // requests from what the device advertises (virtio-blk's seg_max), and may pick a smaller ring.
        MaxIndirectEntries = (uint)Math.Max(deviceMax, Size);
        Fault = validate(layout, memory, deviceMax);
    }

    public ushort Size { get; }

    public QueueFault Fault { get; private set; }

    public bool IsBroken => Fault != QueueFault.None;

    private protected IGuestMemory Memory { get; }

    private protected VirtqueueLayout Layout { get; }

    private protected ulong Features { get; }

    private protected ushort MaxSize { get; }

    private protected bool IndirectAllowed { get; }

    private protected bool EventIndex { get; }

    /// <summary>
    /// The most entries an indirect table may hold. "A driver MUST NOT create a descriptor chain longer than the
    /// Queue Size of the device": the device's maximum queue size bounds a table (and so the work one chain can cost).
    /// </summary>
    private protected uint MaxIndirectEntries { get; }

    // The chain TryPop fills next: kept when a pop finds nothing, so polling an empty queue allocates nothing.
    private DescriptorChain? _spare;

    public bool TryPop([NotNullWhen(true)] out DescriptorChain? chain)
    {
        var fresh = _spare ?? new DescriptorChain();
        if (!TryPopInto(fresh))
        {
            _spare = fresh;
            chain = null;
            return false;
        }
        // Handed out for good: the caller may keep it.
        _spare = null;
        chain = fresh;
        return true;
    }

    public abstract bool TryPopInto(DescriptorChain chain);

    public abstract void AddUsed(ushort headIndex, uint length);

    public abstract void AddUsedBatch(ReadOnlySpan<UsedElement> elements);

    public abstract bool EnableNotification();

    public abstract bool NeedsInterrupt();

    /// <summary>
    /// Checks the three areas of a layout in order (each aligned, then each inside RAM); the first failure is the fault.
    /// The sizes are the ring kind's, for this layout's queue size.
    /// </summary>
    private protected static QueueFault ValidateAreas(
        VirtqueueLayout layout, IGuestMemory memory,
        (ulong Alignment, ulong Size) descriptorArea, (ulong Alignment, ulong Size) driverArea, (ulong Alignment, ulong Size) deviceArea)
    {
        if (layout.DescriptorArea % descriptorArea.Alignment != 0)
            return QueueFault.DescriptorAreaMisaligned;
        if (layout.DriverArea % driverArea.Alignment != 0)
            return QueueFault.DriverAreaMisaligned;
        if (layout.DeviceArea % deviceArea.Alignment != 0)
            return QueueFault.DeviceAreaMisaligned;
        if (!memory.IsValidRange(new GuestAddress(layout.DescriptorArea), descriptorArea.Size))
            return QueueFault.DescriptorAreaOutsideRam;
        if (!memory.IsValidRange(new GuestAddress(layout.DriverArea), driverArea.Size))
            return QueueFault.DriverAreaOutsideRam;
        if (!memory.IsValidRange(new GuestAddress(layout.DeviceArea), deviceArea.Size))
            return QueueFault.DeviceAreaOutsideRam;
        return QueueFault.None;
    }

    /// <summary>An indirect table's byte length: non-zero, whole descriptors, at most <see cref="MaxIndirectEntries"/> of them.</summary>
    private protected bool IsValidIndirectTableLength(uint length, uint descriptorSize) =>
        length != 0 && length % descriptorSize == 0 && length / descriptorSize <= MaxIndirectEntries;

    /// <summary>At most Size chains are ever outstanding; a larger batch would overwrite slots the driver has not read (a device bug).</summary>
    private protected void ThrowIfBatchTooLarge(ReadOnlySpan<UsedElement> elements)
    {
        if (elements.Length > Size)
            throw new ArgumentException($"{elements.Length} used elements do not fit a queue of {Size}", nameof(elements));
    }

    /// <summary>Breaks the queue with <paramref name="fault"/> unless it already is; false, so callers can return it.</summary>
    private protected bool Break(QueueFault fault)
    {
        if (!IsBroken)
            Fault = fault;
        return false;
    }
}
