namespace Ember.Memory.Tests;

public sealed class ArrayGuestMemoryTests : GuestMemoryContractTests
{
    protected override IGuestMemory CreateCore(params (GuestAddress Start, ulong Size)[] regions) => ArrayGuestMemory.Create(regions);

    [Fact]
    public void RegionLargerThanAnArrayIsRejected()
    {
        Assert.Throws<ArgumentException>(() => ArrayGuestMemory.Create((GuestAddress.Zero, 0x8000_0000)));
    }
}
