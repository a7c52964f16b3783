namespace Ember.Devices.Interrupts;

/// <summary>
/// How an interrupt message is delivered (82093AA §3.2.4 bits 10:8; the same encoding is used in the
/// MSI data register, Intel SDM Vol. 3A §11.11.2).
/// </summary>
public enum DeliveryMode : byte
{
    Fixed = 0b000,
    LowestPriority = 0b001,
    Smi = 0b010,
    Reserved3 = 0b011,
    Nmi = 0b100,
    Init = 0b101,
    Reserved6 = 0b110,
    ExtInt = 0b111,
}
