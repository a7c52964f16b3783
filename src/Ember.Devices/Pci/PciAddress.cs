namespace Ember.Devices.Pci;

/// <summary>A function's bus/device/function address (PCI Local Bus 3.0 §3.2.2.3.2).</summary>
public readonly record struct PciAddress
{
    public const int DevicesPerBus = 32;
    public const int FunctionsPerDevice = 8;

    public PciAddress(byte bus, int device, int function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(device, DevicesPerBus);
        ArgumentOutOfRangeException.ThrowIfNegative(function);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(function, FunctionsPerDevice);
        Bus = bus;
        Device = device;
        Function = function;
    }

    public byte Bus { get; }
    public int Device { get; }
    public int Function { get; }

    public override string ToString() => $"{Bus:x2}:{Device:x2}.{Function}";
}
