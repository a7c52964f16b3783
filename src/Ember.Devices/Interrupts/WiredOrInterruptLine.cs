namespace Ember.Devices.Interrupts;

/// <summary>
/// A level-triggered interrupt wire that several devices share, as PCI INTx lines are shared (PCI Local Bus
/// 3.0 §2.2.6: open-drain, wire-ORed): the wire is asserted while at least one input is. Each device gets
/// its own input from <see cref="AddInput"/>, so one device dropping its request never drops another's.
/// The output is driven under this wire's lock, so the order of level changes is the order of the inputs'.
/// </summary>
public sealed class WiredOrInterruptLine
{
    private readonly IInterruptLine _output;
    private readonly Lock _gate = new();
    private int _asserted;

    public WiredOrInterruptLine(IInterruptLine output)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
    }

    /// <summary>How many inputs are asserted now.</summary>
    public int AssertedInputs
    {
        get
        {
            lock (_gate)
                return _asserted;
        }
    }

    /// <summary>A new input on the wire, initially deasserted.</summary>
    public IInterruptLine AddInput() => new Input(this);

    private void Change(bool high)
    {
        lock (_gate)
        {
            _asserted += high ? 1 : -1;
            if (high && _asserted == 1)
                _output.SetLevel(true);
            else if (!high && _asserted == 0)
                _output.SetLevel(false);
        }
    }

    private sealed class Input(WiredOrInterruptLine wire) : IInterruptLine
    {
        private bool _high;

        public void SetLevel(bool high)
        {
            lock (wire._gate)
            {
                if (_high == high)
                    return;
                _high = high;
                wire.Change(high);
            }
        }
    }
}
