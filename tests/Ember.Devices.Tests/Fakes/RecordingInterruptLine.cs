using Ember.Devices.Interrupts;

namespace Ember.Devices.Tests.Fakes;

/// <summary>
/// An interrupt line that remembers what it was driven to: the current <see cref="Level"/>,
/// every <see cref="SetLevel"/> call in order (<see cref="History"/>), and how many low-to-high
/// transitions an edge-triggered controller would have seen (<see cref="RisingEdges"/>).
/// </summary>
public sealed class RecordingInterruptLine : IInterruptLine
{
    private readonly Lock _lock = new();
    private readonly List<bool> _history = [];
    private bool _level;
    private int _risingEdges;

    public bool Level
    {
        get { lock (_lock) return _level; }
    }

    public int RisingEdges
    {
        get { lock (_lock) return _risingEdges; }
    }

    public IReadOnlyList<bool> History
    {
        get { lock (_lock) return [.. _history]; }
    }

    public void SetLevel(bool high)
    {
        lock (_lock)
        {
            if (high && !_level)
                _risingEdges++;
            _level = high;
            _history.Add(high);
        }
    }
}
