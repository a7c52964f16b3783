using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class I8042ControllerTests
{
    private const ulong DataPort = 0, CommandPort = 4;
    private const byte StatusOutputFull = 0x01, StatusSystem = 0x04, StatusCommand = 0x08, StatusUnlocked = 0x10, StatusAux = 0x20;

    private readonly I8042Controller _controller = new();
    private int _resets;

    public I8042ControllerTests() => _controller.ResetRequested += () => _resets++;

    private byte Status() => _controller.ReadByte(CommandPort);

    private byte Command(byte command)
    {
        _controller.WriteByte(CommandPort, command);
        Assert.Equal(StatusOutputFull, Status() & StatusOutputFull);
        return _controller.ReadByte(DataPort);
    }

    [Fact]
    public void InitialStatusHasSystemFlagAndUnlockedKeyboardAndEmptyBuffers()
    {
        Assert.Equal(StatusSystem | StatusUnlocked, Status());
    }

    [Fact]
    public void SelfTestAnswers55AndReadingEmptiesTheOutputBuffer()
    {
        Assert.Equal(0x55, Command(0xAA));
        Assert.Equal(0, Status() & StatusOutputFull);
    }

    [Theory]
    [InlineData(0xA9)]
    [InlineData(0xAB)]
    public void InterfaceTestsPass(byte command)
    {
        Assert.Equal(0x00, Command(command));
    }

    [Fact]
    public void CommandByteReadsBackWhatWasWritten()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x61);

        Assert.Equal(0x61, Command(0x20));
    }

    [Fact]
    public void SystemFlagInStatusFollowsCommandByte()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x00);

        Assert.Equal(0, Status() & StatusSystem);
    }

    [Fact]
    public void StatusTracksWhetherLastWriteWasCommandOrData()
    {
        _controller.WriteByte(CommandPort, 0x60);
        Assert.Equal(StatusCommand, Status() & StatusCommand);

        _controller.WriteByte(DataPort, 0x45);
        Assert.Equal(0, Status() & StatusCommand);
    }

    [Theory]
    [InlineData(0xA7, 0xA8, 0x20)]
    [InlineData(0xAD, 0xAE, 0x10)]
    public void DisableAndEnableCommandsToggleCommandByteBits(byte disable, byte enable, byte bit)
    {
        _controller.WriteByte(CommandPort, disable);
        Assert.Equal(bit, Command(0x20) & bit);

        _controller.WriteByte(CommandPort, enable);
        Assert.Equal(0, Command(0x20) & bit);
    }

    [Fact]
    public void PulseResetCommandRaisesResetRequested()
    {
        _controller.WriteByte(CommandPort, 0xFE);

        Assert.Equal(1, _resets);
    }

    [Fact]
    public void PulseWithResetBitMaskedDoesNotReset()
    {
        _controller.WriteByte(CommandPort, 0xFF);
        _controller.WriteByte(CommandPort, 0xF1);

        Assert.Equal(0, _resets);
    }

    [Fact]
    public void WritingOutputPortKeepsCpuRunningWhileResetBitIsHigh()
    {
        _controller.WriteByte(CommandPort, 0xD1);
        _controller.WriteByte(DataPort, 0xDF); // A20 on, reset inactive: what Linux's A20 code writes

        Assert.Equal(0, _resets);
        Assert.Equal(0xDF, Command(0xD0));
    }

    [Fact]
    public void WritingOutputPortWithResetBitLowResets()
    {
        _controller.WriteByte(CommandPort, 0xD1);
        _controller.WriteByte(DataPort, 0xFE);

        Assert.Equal(1, _resets);
    }

    [Fact]
    public void WriteKeyboardOutputBufferEchoes()
    {
        _controller.WriteByte(CommandPort, 0xD2);
        _controller.WriteByte(DataPort, 0x1C);

        Assert.Equal(StatusOutputFull, Status() & (StatusOutputFull | StatusAux));
        Assert.Equal(0x1C, _controller.ReadByte(DataPort));
    }

    [Fact]
    public void WriteAuxOutputBufferEchoesAsAuxData()
    {
        _controller.WriteByte(CommandPort, 0xD3);
        _controller.WriteByte(DataPort, 0x5A);

        Assert.Equal(StatusOutputFull | StatusAux, Status() & (StatusOutputFull | StatusAux));
        Assert.Equal(0x5A, _controller.ReadByte(DataPort));
        Assert.Equal(0, Status() & (StatusOutputFull | StatusAux));
    }

    [Fact]
    public void BytesForAbsentKeyboardOrMouseAreDroppedAndCounted()
    {
        _controller.WriteByte(DataPort, 0xF2); // keyboard "identify"
        _controller.WriteByte(CommandPort, 0xD4);
        _controller.WriteByte(DataPort, 0xF2); // mouse "identify"

        Assert.Equal(2, _controller.DroppedDeviceBytes);
        Assert.Equal(0, Status() & StatusOutputFull);
    }

    [Fact]
    public void DataByteAfterItsCommandWasConsumedGoesToTheKeyboard()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x45);
        _controller.WriteByte(DataPort, 0x00);

        Assert.Equal(0x45, Command(0x20));
        Assert.Equal(1, _controller.DroppedDeviceBytes);
    }

    [Fact]
    public void UnknownCommandIsCountedAndProducesNoOutput()
    {
        _controller.WriteByte(CommandPort, 0x99);

        Assert.Equal(1, _controller.UnhandledAccesses);
        Assert.Equal(0, Status() & StatusOutputFull);
    }

    [Theory]
    [InlineData(1UL, 1)]
    [InlineData(3UL, 1)]
    [InlineData(0UL, 2)]
    [InlineData(4UL, 4)]
    public void OtherOffsetsAndWidthsReadZeroAndDropWrites(ulong offset, int width)
    {
        var data = new byte[width];
        _controller.Read(offset, data);
        var command = new byte[width];
        command[0] = 0xFE;
        _controller.Write(offset, command);

        Assert.All(data, b => Assert.Equal(0, b));
        Assert.Equal(0, _resets);
        Assert.Equal(2, _controller.UnhandledAccesses);
    }

    [Fact]
    public void FiveByteRegistrationAtDataPortReachesStatusAtPlusFour()
    {
        var bus = new DeviceBus();
        bus.Register(0x60, I8042Controller.Length, _controller);

        bus.Write(0x64, [0xFE]);
        var status = new byte[1];
        bus.Read(0x64, status);

        Assert.Equal(1, _resets);
        Assert.Equal(StatusSystem | StatusUnlocked | StatusCommand, status[0]);
    }

    [Fact]
    public void OneBytePortViewsCanBeRegisteredSeparately()
    {
        var bus = new DeviceBus();
        bus.Register(0x60, 1, _controller.DataPort);
        bus.Register(0x64, 1, _controller.StatusCommandPort);

        bus.Write(0x64, [0xAA]);
        var data = new byte[1];
        bus.Read(0x60, data);

        Assert.Equal(0x55, data[0]);
        Assert.False(bus.Read(0x61, data)); // port B stays free for another device
    }

    [Fact]
    public void StateRoundTrip()
    {
        _controller.WriteByte(CommandPort, 0x60);
        _controller.WriteByte(DataPort, 0x47);
        _controller.WriteByte(CommandPort, 0xD3);
        _controller.WriteByte(DataPort, 0x99);
        _controller.WriteByte(CommandPort, 0xD1); // left pending

        var restored = I8042Controller.FromState(_controller.GetState());
        int restoredResets = 0;
        restored.ResetRequested += () => restoredResets++;

        Assert.Equal(_controller.GetState(), restored.GetState());
        Assert.Equal(0x99, restored.ReadByte(DataPort));
        restored.WriteByte(DataPort, 0x00); // completes the restored pending 0xD1 with the reset bit low
        Assert.Equal(1, restoredResets);
    }
}
