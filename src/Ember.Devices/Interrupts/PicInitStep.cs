namespace Ember.Devices.Interrupts;

/// <summary>Which initialization command word an 8259A expects next on its data port (8259A datasheet, Figure 6).</summary>
public enum PicInitStep : byte
{
    /// <summary>Not initializing: data-port writes are OCW1 (the mask).</summary>
    Ready = 0,
    ExpectIcw2 = 2,
    ExpectIcw3 = 3,
    ExpectIcw4 = 4,
}
