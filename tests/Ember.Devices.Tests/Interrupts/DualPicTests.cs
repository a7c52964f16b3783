using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Xunit;

namespace Ember.Devices.Tests.Interrupts;

public sealed class DualPicTests
{
    private const byte MasterBase = 0x20;
    private const byte SlaveBase = 0x28;
    private const byte NonSpecificEoi = 0x20;
    private const byte ReadIsr = 0x0B;
    private const byte ReadIrr = 0x0A;

    private readonly DualPic _pic = new();

    private static void Out(IBusDevice device, ulong offset, byte value) => device.Write(offset, [value]);

    private static byte In(IBusDevice device, ulong offset)
    {
        Span<byte> data = stackalloc byte[1];
        device.Read(offset, data);
        return data[0];
    }

    /// <summary>The sequence Linux's init_8259A writes (with the bases of the classic PC layout).</summary>
    private void InitLikeLinux(bool autoEoi = false)
    {
        Out(_pic.MasterPorts, 0, 0x11); // ICW1: edge, cascade, ICW4 needed
        Out(_pic.MasterPorts, 1, MasterBase); // ICW2
        Out(_pic.MasterPorts, 1, 0x04); // ICW3: slave on IR2
        Out(_pic.MasterPorts, 1, autoEoi ? (byte)0x03 : (byte)0x01); // ICW4: 8086 mode (+AEOI)
        Out(_pic.SlavePorts, 0, 0x11);
        Out(_pic.SlavePorts, 1, SlaveBase);
        Out(_pic.SlavePorts, 1, 0x02); // ICW3: slave ID 2
        Out(_pic.SlavePorts, 1, 0x01);
    }

    private byte MasterIsr()
    {
        Out(_pic.MasterPorts, 0, ReadIsr);
        return In(_pic.MasterPorts, 0);
    }

    private byte SlaveIsr()
    {
        Out(_pic.SlavePorts, 0, ReadIsr);
        return In(_pic.SlavePorts, 0);
    }

    [Fact]
    public void UninitializedPicRaisesNothing()
    {
        _pic.SetIrqLevel(1, true);

        Assert.False(_pic.HasPendingInterrupt);
        Assert.Null(_pic.Acknowledge());
    }

    [Fact]
    public void LinuxInitThenIrqDeliversVectorAndEoiClearsIsr()
    {
        var outputs = new List<bool>();
        _pic.OutputChanged += outputs.Add;
        InitLikeLinux();
        Assert.Equal(0, In(_pic.MasterPorts, 1));

        _pic.GetLine(1).Pulse();
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(MasterBase + 1, _pic.Acknowledge());

        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x02, MasterIsr());
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.Equal(0x00, MasterIsr());
        Assert.Equal([true, false], outputs);
    }

    [Fact]
    public void MaskRegisterReadsBackAndBlocksRequests()
    {
        InitLikeLinux();
        Out(_pic.MasterPorts, 1, 0xFF);
        Assert.Equal(0xFF, In(_pic.MasterPorts, 1));

        _pic.SetIrqLevel(4, true);
        Assert.False(_pic.HasPendingInterrupt);
        Out(_pic.MasterPorts, 0, ReadIrr);
        Assert.Equal(0x10, In(_pic.MasterPorts, 0));

        Out(_pic.MasterPorts, 1, 0xEF);
        Assert.Equal(MasterBase + 4, _pic.Acknowledge());
    }

    [Fact]
    public void LowerNumberedIrqWinsAndInServiceBlocksLowerPriority()
    {
        InitLikeLinux();
        _pic.GetLine(3).Pulse();
        _pic.GetLine(1).Pulse();

        Assert.Equal(MasterBase + 1, _pic.Acknowledge());
        Assert.False(_pic.HasPendingInterrupt); // IRQ3 waits behind IRQ1 in service
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
    }

    [Fact]
    public void HigherPriorityNestsOverInService()
    {
        InitLikeLinux();
        _pic.GetLine(5).Pulse();
        Assert.Equal(MasterBase + 5, _pic.Acknowledge());

        _pic.GetLine(1).Pulse();

        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(MasterBase + 1, _pic.Acknowledge());
        Assert.Equal(0x22, MasterIsr());
        Out(_pic.MasterPorts, 0, NonSpecificEoi); // clears the highest in service: IRQ1
        Assert.Equal(0x20, MasterIsr());
    }

    [Fact]
    public void SetPriorityAndRotateOnEoiChangeTheOrder()
    {
        InitLikeLinux();
        Out(_pic.MasterPorts, 0, 0xC0 | 4); // set priority: IR4 lowest, IR5 highest
        _pic.GetLine(1).Pulse();
        _pic.GetLine(6).Pulse();

        Assert.Equal(MasterBase + 6, _pic.Acknowledge());
        Out(_pic.MasterPorts, 0, 0xA0); // rotate on non-specific EOI: IR6 becomes lowest
        _pic.GetLine(6).Pulse();

        Assert.Equal(MasterBase + 1, _pic.Acknowledge());
        Out(_pic.MasterPorts, 0, 0xE0 | 1); // rotate on specific EOI for IR1: IR1 lowest, IR2 highest
        Assert.Equal(0, MasterIsr());
        _pic.GetLine(0).Pulse();
        Assert.Equal(MasterBase + 6, _pic.Acknowledge());
    }

    [Fact]
    public void SpecificEoiClearsTheNamedLevel()
    {
        InitLikeLinux();
        _pic.GetLine(5).Pulse();
        _pic.Acknowledge();
        _pic.GetLine(1).Pulse();
        _pic.Acknowledge();

        Out(_pic.MasterPorts, 0, 0x60 | 5);

        Assert.Equal(0x02, MasterIsr());
    }

    [Fact]
    public void SlaveIrqArrivesThroughCascadeWithSlaveVector()
    {
        InitLikeLinux();

        _pic.GetLine(12).Pulse();

        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(SlaveBase + 4, _pic.Acknowledge());
        Assert.Equal(0x04, MasterIsr());
        Assert.Equal(0x10, SlaveIsr());
        Out(_pic.SlavePorts, 0, NonSpecificEoi);
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.Equal(0, MasterIsr());
        Assert.Equal(0, SlaveIsr());
    }

    [Fact]
    public void SlaveRequestPendingAfterSlaveEoiIsDeliveredAfterMasterEoi()
    {
        InitLikeLinux();
        _pic.GetLine(9).Pulse();
        _pic.GetLine(14).Pulse();

        Assert.Equal(SlaveBase + 1, _pic.Acknowledge());
        Out(_pic.SlavePorts, 0, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt); // master IR2 still in service
        Out(_pic.MasterPorts, 0, NonSpecificEoi);

        Assert.Equal(SlaveBase + 6, _pic.Acknowledge());
    }

    [Fact]
    public void AutoEoiLeavesNothingInService()
    {
        InitLikeLinux(autoEoi: true);

        _pic.GetLine(3).Pulse();

        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
        Assert.Equal(0, MasterIsr());
        _pic.GetLine(4).Pulse();
        Assert.Equal(MasterBase + 4, _pic.Acknowledge());
    }

    [Fact]
    public void VanishedLevelRequestGivesSpuriousIrq7WithoutInService()
    {
        InitLikeLinux();
        Out(_pic.Elcr, 0, 0x20); // IRQ5 level-triggered
        _pic.SetIrqLevel(5, true);
        Assert.True(_pic.HasPendingInterrupt);

        _pic.SetIrqLevel(5, false); // the device withdrew it before the CPU acknowledged

        Assert.Equal(MasterBase + 7, _pic.Acknowledge());
        Assert.Equal(0, MasterIsr());
    }

    [Fact]
    public void PollCommandReturnsLevelAndActsAsAcknowledge()
    {
        InitLikeLinux();
        _pic.GetLine(6).Pulse();

        Out(_pic.MasterPorts, 0, 0x0C); // OCW3 poll
        Assert.Equal(0x86, In(_pic.MasterPorts, 0));

        Assert.Equal(0x40, MasterIsr());
        Out(_pic.MasterPorts, 0, 0x0C);
        Assert.Equal(0x00, In(_pic.MasterPorts, 0)); // nothing more to poll
        Out(_pic.MasterPorts, 0, ReadIrr);
        Assert.Equal(0x00, In(_pic.MasterPorts, 0));
    }

    [Fact]
    public void ElcrLevelIrqRepeatsAfterEoiWhileHeldButEdgeDoesNot()
    {
        InitLikeLinux();
        Out(_pic.Elcr, 1, 0x04); // IRQ10 level, IRQ11 edge

        _pic.SetIrqLevel(10, true);
        Assert.Equal(SlaveBase + 2, _pic.Acknowledge());
        Out(_pic.SlavePorts, 0, NonSpecificEoi);
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.Equal(SlaveBase + 2, _pic.Acknowledge());
        _pic.SetIrqLevel(10, false);
        Out(_pic.SlavePorts, 0, NonSpecificEoi);
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);

        _pic.SetIrqLevel(11, true);
        Assert.Equal(SlaveBase + 3, _pic.Acknowledge());
        Out(_pic.SlavePorts, 0, NonSpecificEoi);
        Out(_pic.MasterPorts, 0, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void ElcrReservedBitsStayZero()
    {
        Out(_pic.Elcr, 0, 0xFF);
        Out(_pic.Elcr, 1, 0xFF);

        Assert.Equal(0xF8, In(_pic.Elcr, 0));
        Assert.Equal(0xDE, In(_pic.Elcr, 1));
        Span<byte> both = stackalloc byte[2];
        _pic.Elcr.Read(0, both);
        Assert.Equal([0xF8, 0xDE], both.ToArray());
    }

    [Fact]
    public void SpecialMaskModeLetsLowerPriorityThroughPastMaskedInService()
    {
        InitLikeLinux();
        _pic.GetLine(1).Pulse();
        _pic.Acknowledge();
        _pic.GetLine(3).Pulse();
        Assert.False(_pic.HasPendingInterrupt);

        Out(_pic.MasterPorts, 1, 0x02); // mask IR1 (in service)
        Out(_pic.MasterPorts, 0, 0x68); // OCW3: ESMM + SMM

        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
        Out(_pic.MasterPorts, 0, 0x48); // reset special mask
        Out(_pic.MasterPorts, 0, 0x60 | 3);
        _pic.GetLine(4).Pulse();
        Assert.False(_pic.HasPendingInterrupt); // IR1 in service blocks again
    }

    [Fact]
    public void CascadeIrqAndOutOfRangeIrqsAreIgnored()
    {
        InitLikeLinux();

        _pic.SetIrqLevel(2, true);
        _pic.SetIrqLevel(16, true);
        _pic.SetIrqLevel(-1, true);

        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void WrongWidthsAndOffsetsAreDroppedAndCounted()
    {
        InitLikeLinux();
        Out(_pic.MasterPorts, 1, 0x5A);

        _pic.MasterPorts.Write(1, [0x00, 0x00]);
        _pic.MasterPorts.Write(2, [0x00]);
        _pic.Elcr.Write(1, [0xFF, 0xFF]);

        Assert.Equal(0x5A, In(_pic.MasterPorts, 1));
        Assert.Equal(0, In(_pic.Elcr, 1));
        Assert.Equal(3, _pic.DroppedAccesses);
    }

    [Fact]
    public void StateRoundTripKeepsInServiceMaskAndElcr()
    {
        InitLikeLinux();
        Out(_pic.Elcr, 1, 0x08);
        Out(_pic.MasterPorts, 1, 0x10);
        _pic.GetLine(12).Pulse();
        _pic.Acknowledge();
        _pic.GetLine(6).Pulse();

        var restored = DualPic.FromState(_pic.GetState());

        Assert.Equal(0x10, In(restored.MasterPorts, 1));
        Assert.Equal(0x08, In(restored.Elcr, 1));
        Assert.False(restored.HasPendingInterrupt); // IR6 waits behind IR2 in service
        Out(restored.SlavePorts, 0, NonSpecificEoi);
        Out(restored.MasterPorts, 0, NonSpecificEoi);
        Assert.Equal(MasterBase + 6, restored.Acknowledge());
    }
}
