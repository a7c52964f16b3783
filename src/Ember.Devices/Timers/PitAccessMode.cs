namespace Ember.Devices.Timers;

/// <summary>How a counter's 16-bit value is moved through its 8-bit port (8254 control word RW1:RW0).</summary>
public enum PitAccessMode : byte
{
    /// <summary>RW = 00 in a control word is the counter latch command, never a stored mode.</summary>
    LatchCommand = 0b00,
    LsbOnly = 0b01,
    MsbOnly = 0b10,
    LsbThenMsb = 0b11,
}
