using Ember.Devices.Interrupts;

namespace Ember.Devices.Tests.Fakes;

/// <summary>An interrupt line that remembers every level it was driven to.</summary>
public sealed class RecordingInterruptLine : IInterruptLine
{
    private readonly Lock _lock = new();
    private readonly List<bool> _history = [];
    private bool _level;
    private int _risingEdges;

    /// <summary>The level the line was last driven to.</summary>
    public bool Level
    {
        get { lock (_lock) return _level; }
    }

    /// <summary>How many times the line went from low to high.</summary>
    public int RisingEdges
    {
        get { lock (_lock) return _risingEdges; }
    }

    /// <summary>Every level passed to <see cref="SetLevel"/>, in order, repeats included.</summary>
    public IReadOnlyList<bool> History
    {
        get { lock (_lock) return _history.ToArray(); }
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
