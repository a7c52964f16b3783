using Ember.Devices.Virtio.Block;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>An in-memory disk that counts calls and can be told to fail, for what a file cannot show (flush order, I/O errors).</summary>
public sealed class RecordingBlockBackend(int sectors, bool readOnly = false) : IBlockBackend
{
    private readonly byte[] _data = new byte[sectors * 512];

    public List<string> Calls { get; } = [];

    /// <summary>The disk's bytes now.</summary>
    public byte[] Contents => _data;

    public bool FailReads { get; set; }

    /// <summary>Flush throws as fdatasync does when the kernel lost a write-back (EIO).</summary>
    public bool FailFlushes { get; set; }

    /// <summary>Runs inside every Flush call, for a test that looks at the device's state while the flush is under way.</summary>
    public Action? DuringFlush { get; set; }

    public ulong Length => (ulong)_data.Length;

    public bool IsReadOnly => readOnly;

    public void Read(ulong offset, Span<byte> destination)
    {
        Calls.Add($"read {offset} {destination.Length}");
        if (FailReads)
            throw new IOException("injected read failure");
        _data.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        Calls.Add($"write {offset} {source.Length}");
        source.CopyTo(_data.AsSpan((int)offset));
    }

    public void Flush()
    {
        Calls.Add("flush");
        DuringFlush?.Invoke();
        if (FailFlushes)
            throw new IOException("injected flush failure");
    }

    public void Discard(ulong offset, ulong length) => Calls.Add($"discard {offset} {length}");

    public void WriteZeroes(ulong offset, ulong length, bool mayDeallocate)
    {
        Calls.Add($"zeroes {offset} {length}{(mayDeallocate ? " unmap" : "")}");
        _data.AsSpan((int)offset, (int)length).Clear();
    }
}
