using Iced.Intel;

namespace Ember.TestGuests;

/// <summary>Assembles a test guest with Iced at the address it will run from.</summary>
public static class GuestAssembler
{
    public static byte[] Assemble(int bitness, ulong origin, Action<Assembler> emit)
    {
        var assembler = new Assembler(bitness);
        emit(assembler);
        using var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), origin);
        return stream.ToArray();
    }
}
