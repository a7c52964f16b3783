using Ember.Devices.Legacy;

namespace Ember.Vmm.Machine;

/// <summary>
/// The guest's serial console as a duplex <see cref="Stream"/> for programs that embed Ember: reading gives what
/// the guest wrote to COM1 (end of stream once the machine has stopped and everything was read), writing types
/// into COM1. What the guest writes is buffered up to <see cref="Capacity"/> bytes for a reader that lags;
/// beyond that the newest bytes are dropped and counted (a guest must not grow host memory without bound).
/// </summary>
public sealed class GuestConsoleStream : Stream, ISerialOutput
{
    /// <summary>Guest output held for a reader that has not caught up.</summary>
    public const int Capacity = 1 << 20;

    private readonly object _lock = new();
    private readonly byte[] _ring = new byte[Capacity];
    private int _start;
    private int _count;
    private bool _completed;
    private long _dropped;
    private TaskCompletionSource? _dataArrived;
    private MicroVm? _machine;

    /// <summary>Bytes of guest output dropped because the reader lagged by more than <see cref="Capacity"/>.</summary>
    public long DroppedBytes => Interlocked.Read(ref _dropped);

    internal void Attach(MicroVm machine)
    {
        _machine = machine;
        machine.Exited.ContinueWith(_ => Complete(), TaskScheduler.Default);
    }

    /// <summary>No more output will come: readers get the rest, then the end of the stream.</summary>
    internal void Complete()
    {
        TaskCompletionSource? waiting;
        lock (_lock)
        {
            _completed = true;
            waiting = _dataArrived;
            _dataArrived = null;
        }
        waiting?.TrySetResult();
    }

    void ISerialOutput.Write(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource? waiting;
        lock (_lock)
        {
            int room = Capacity - _count;
            int taken = Math.Min(room, data.Length);
            for (int i = 0; i < taken; i++)
                _ring[(_start + _count + i) % Capacity] = data[i];
            _count += taken;
            if (taken < data.Length)
                Interlocked.Add(ref _dropped, data.Length - taken);
            waiting = _dataArrived;
            _dataArrived = null;
        }
        waiting?.TrySetResult();
    }

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_count > 0 || _completed || buffer.IsEmpty)
                    return TakeLocked(buffer);
                wait = (_dataArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            wait.Wait();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_count > 0 || _completed || buffer.IsEmpty)
                    return TakeLocked(buffer.Span);
                wait = (_dataArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int TakeLocked(Span<byte> buffer)
    {
        int taken = Math.Min(buffer.Length, _count);
        for (int i = 0; i < taken; i++)
            buffer[i] = _ring[(_start + i) % Capacity];
        _start = (_start + taken) % Capacity;
        _count -= taken;
        return taken;
    }

    /// <summary>Types <paramref name="buffer"/> into COM1, waiting while the UART's receive buffer is full.</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var machine = _machine ?? throw new InvalidOperationException("the console is not attached to a machine");
        while (!buffer.IsEmpty)
        {
            if (machine.State == VmState.Stopped)
                throw new IOException("the machine has stopped; its console takes no more input");
            int accepted = machine.SendConsoleInput(buffer.Span);
            buffer = buffer[accepted..];
            if (accepted == 0)
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer) => WriteAsync(buffer.ToArray()).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
