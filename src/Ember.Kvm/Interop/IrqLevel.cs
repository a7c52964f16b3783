using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_irq_level</c>, 8 bytes: the GSI (or, on return from IRQ_LINE_STATUS, a status) and the level.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IrqLevel
{
    public uint IrqOrStatus;
    public uint Level;
}
