using Ember.Devices.Interrupts;
using Xunit;

namespace Ember.Devices.Tests.Interrupts;

public sealed class Pic8259Tests
{
    private static Pic8259 SingleChip(byte vectorBase, byte icw4 = 0x01)
    {
        var chip = new Pic8259();
        chip.WriteCommand(0x13); // ICW1: edge, single, ICW4 needed
        chip.WriteData(vectorBase);
        chip.WriteData(icw4);
        return chip;
    }

    [Fact]
    public void AcknowledgeWithoutRequestIsSpuriousIr7AndSetsNothing()
    {
        var chip = SingleChip(0x70);

        int line = chip.Acknowledge(out bool spurious);

        Assert.True(spurious);
        Assert.Equal(Pic8259.SpuriousLine, line);
        Assert.Equal(0, chip.InService);
    }

    [Fact]
    public void SingleModeSkipsIcw3()
    {
        var chip = SingleChip(0x70);
        chip.WriteData(0x3C); // now OCW1

        Assert.True(chip.IsInitialized);
        Assert.Equal(0x70, chip.VectorBase);
        Assert.Equal(0x3C, chip.Mask);
    }

    [Fact]
    public void InitializationWithoutIcw4ClearsAutoEoi()
    {
        var chip = SingleChip(0x70, icw4: 0x03);
        Assert.True(chip.AutoEoi);

        chip.WriteCommand(0x12); // ICW1 without IC4
        chip.WriteData(0x78);

        Assert.False(chip.AutoEoi);
        Assert.True(chip.IsInitialized);
        Assert.Equal(0x78, chip.VectorBase);
    }

    [Fact]
    public void Icw1ResetsMaskEdgesAndPriority()
    {
        var chip = SingleChip(0x70);
        chip.WriteData(0xFF);
        chip.WriteCommand(0xC0 | 2); // lowest priority IR2
        chip.SetInput(3, true);

        chip.WriteCommand(0x13);
        chip.WriteData(0x70);
        chip.WriteData(0x01);

        Assert.Equal(0, chip.Mask);
        Assert.Equal(7, chip.LowestPriority);
        Assert.False(chip.Output); // the edge sense latch was reset; the still-high input needs a new edge
        chip.SetInput(3, false);
        chip.SetInput(3, true);
        Assert.True(chip.Output);
    }

    [Fact]
    public void LtimMakesEveryInputLevelTriggered()
    {
        var chip = new Pic8259();
        chip.WriteCommand(0x1B); // ICW1: LTIM, single, IC4
        chip.WriteData(0x70);
        chip.WriteData(0x01);

        chip.SetInput(0, true);
        chip.SetInput(0, false);

        Assert.False(chip.Output);
        Assert.Equal(0, chip.InterruptRequests);
    }

    [Fact]
    public void RotateInAutoEoiMovesServicedLevelToLowest()
    {
        var chip = SingleChip(0x70, icw4: 0x03);
        chip.WriteCommand(0x80); // rotate in AEOI: set

        chip.SetInput(2, true);
        Assert.Equal(2, chip.Acknowledge(out _));

        Assert.Equal(2, chip.LowestPriority);
        chip.WriteCommand(0x00); // rotate in AEOI: clear
        chip.SetInput(5, true);
        chip.Acknowledge(out _);
        Assert.Equal(2, chip.LowestPriority);
    }
}
