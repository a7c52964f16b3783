using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class AcpiPowerManagementTests
{
    // ACPI 6.5 §4.8.3: PM1_CNT SCI_EN = bit 0, SLP_TYP = bits 12:10, SLP_EN = bit 13.
    private const ushort SciEnable = 0x0001;
    private const ushort SleepEnable = 0x2000;
    private static ushort SleepType(int type) => (ushort)(type << 10);

    private readonly AcpiPowerManagement _pm = new();
    private int _powerOffs;

    public AcpiPowerManagementTests() => _pm.PowerOffRequested += () => _powerOffs++;

    [Fact]
    public void LayoutConstantsDescribeTheFadtBlocks()
    {
        Assert.Equal(0UL, AcpiPowerManagement.Pm1EventBlockOffset);
        Assert.Equal(4, AcpiPowerManagement.Pm1EventBlockLength);
        Assert.Equal(AcpiPowerManagement.Pm1EventBlockOffset + AcpiPowerManagement.Pm1EventBlockLength, AcpiPowerManagement.Pm1ControlBlockOffset);
        Assert.Equal(2, AcpiPowerManagement.Pm1ControlBlockLength);
        Assert.Equal(6UL, AcpiPowerManagement.Length);
    }

    [Fact]
    public void SciEnableStartsSetAndReadsBack()
    {
        Assert.Equal(SciEnable, _pm.ReadUInt16(AcpiPowerManagement.Pm1ControlBlockOffset));

        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, 0);
        Assert.Equal(0, _pm.ReadUInt16(AcpiPowerManagement.Pm1ControlBlockOffset));

        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, SciEnable);
        Assert.Equal(SciEnable, _pm.ReadUInt16(AcpiPowerManagement.Pm1ControlBlockOffset));
    }

    [Fact]
    public void SleepEnableWithS5TypeRequestsPowerOff()
    {
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset,
            (ushort)(SleepType(AcpiPowerManagement.S5SleepType) | SleepEnable | SciEnable));

        Assert.Equal(1, _powerOffs);
        // SLP_EN is write-only; SLP_TYP reads back.
        Assert.Equal(SleepType(5) | SciEnable, _pm.ReadUInt16(AcpiPowerManagement.Pm1ControlBlockOffset));
    }

    [Fact]
    public void S5TypeWithoutSleepEnableDoesNothing()
    {
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, SleepType(5));

        Assert.Equal(0, _powerOffs);
    }

    [Fact]
    public void LinuxStyleTwoStepWriteTypeThenEnablePowersOff()
    {
        // ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN.
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, (ushort)(SleepType(5) | SciEnable));
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, (ushort)(SleepType(5) | SleepEnable | SciEnable));

        Assert.Equal(1, _powerOffs);
    }

    [Fact]
    public void HighByteWriteAloneCarriesTypeAndEnable()
    {
        _pm.WriteByte(AcpiPowerManagement.Pm1ControlBlockOffset + 1, (byte)((SleepType(5) | SleepEnable) >> 8));

        Assert.Equal(1, _powerOffs);
        Assert.Equal(SciEnable, _pm.ReadByte(AcpiPowerManagement.Pm1ControlBlockOffset)); // low byte untouched
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void OtherSleepStatesAreNotPowerOff(int type)
    {
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, (ushort)(SleepType(type) | SleepEnable));

        Assert.Equal(0, _powerOffs);
        Assert.Equal(1, _pm.UnsupportedSleepRequests);
    }

    [Fact]
    public void EnableRegisterKeepsOnlyDefinedBits()
    {
        _pm.WriteUInt16(AcpiPowerManagement.Pm1EnableOffset, 0xFFFF);

        Assert.Equal(0x4721, _pm.ReadUInt16(AcpiPowerManagement.Pm1EnableOffset));
    }

    [Fact]
    public void StatusBitsAreWriteOneToClear()
    {
        var pm = AcpiPowerManagement.FromState(new AcpiPowerManagementState(0x0101, 0, SciEnable)); // PWRBTN_STS | TMR_STS

        pm.WriteUInt16(AcpiPowerManagement.Pm1StatusOffset, 0x0100);

        Assert.Equal(0x0001, pm.ReadUInt16(AcpiPowerManagement.Pm1StatusOffset));
    }

    [Fact]
    public void DwordAccessCoversStatusAndEnableTogether()
    {
        _pm.WriteUInt32(AcpiPowerManagement.Pm1EventBlockOffset, 0x0100_FFFF); // clear all status, PWRBTN_EN

        Assert.Equal(0x0100_0000u, _pm.ReadUInt32(AcpiPowerManagement.Pm1EventBlockOffset));
    }

    [Theory]
    [InlineData(0UL, 8)]
    [InlineData(4UL, 4)]
    [InlineData(6UL, 1)]
    [InlineData(0UL, 3)]
    public void AccessesOutsideTheBlocksOrOfOddWidthAreDropped(ulong offset, int width)
    {
        var data = new byte[width];
        Array.Fill(data, (byte)0xFF);
        _pm.Write(offset, data);
        var read = new byte[width];
        _pm.Read(offset, read);

        Assert.Equal(0, _powerOffs);
        Assert.All(read, b => Assert.Equal(0, b));
        Assert.Equal(2, _pm.UnhandledAccesses);
        Assert.Equal(SciEnable, _pm.ReadUInt16(AcpiPowerManagement.Pm1ControlBlockOffset));
    }

    [Fact]
    public void StateRoundTrip()
    {
        _pm.WriteUInt16(AcpiPowerManagement.Pm1EnableOffset, 0x0100);
        _pm.WriteUInt16(AcpiPowerManagement.Pm1ControlBlockOffset, SleepType(3));

        var restored = AcpiPowerManagement.FromState(_pm.GetState());

        Assert.Equal(_pm.GetState(), restored.GetState());
        Assert.Equal(new AcpiPowerManagementState(0, 0x0100, SleepType(3)), restored.GetState());
    }
}
