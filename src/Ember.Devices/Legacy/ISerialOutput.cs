namespace Ember.Devices.Legacy;

/// <summary>
/// Where a UART's transmitted bytes go (a console, a log file, a test buffer). Called on the
/// vCPU thread that wrote the transmitter holding register, never with the UART's lock held,
/// so a slow sink delays only that vCPU. Implementations must not throw.
/// </summary>
public interface ISerialOutput
{
    void Write(ReadOnlySpan<byte> data);
}
