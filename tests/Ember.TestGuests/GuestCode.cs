using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.TestGuests;

/// <summary>Small building blocks that 32-bit test guests share.</summary>
public static class GuestCode
{
    public const ushort Com1 = 0x3F8;
    public const ushort DebugExit = 0xF4;

    /// <summary>Writes <paramref name="text"/> to COM1 byte by byte (a tight out loop; the UART never backs up).</summary>
    public static void Print32(Assembler a, string text)
    {
        a.mov(dx, Com1);
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }
    }

    /// <summary>Writes <paramref name="value"/> to the debug-exit port, then halts forever.</summary>
    public static void Exit32(Assembler a, byte value)
    {
        var halt = a.CreateLabel();
        a.mov(al, value);
        a.mov(dx, DebugExit);
        a.@out(dx, al);
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    }
}
