using Ember.Sys;
using Ember.Vmm.Machine;
using Microsoft.Win32.SafeHandles;

namespace Ember.Cli;

/// <summary>
/// Copies host stdin to the guest's COM1 on a background thread. Ctrl-A X stops the machine,
/// Ctrl-A N sends the guest an NMI (the PC's NMI button: Linux prints "NMI received" or dumps state),
/// and Ctrl-A Ctrl-A sends one Ctrl-A, as in QEMU's -serial stdio. It reads descriptor 0 itself, byte
/// for byte as the raw terminal delivers them: .NET's console input stream would edit lines and echo.
/// In Firecracker mode there are no escapes: bytes go to the guest as they came, as Firecracker's do.
/// </summary>
internal static class ConsoleInputPump
{
    private const byte CtrlA = 0x01;

    /// <param name="escapes">
    /// Whether Ctrl-A starts a command (ember run, as QEMU's console); without, every byte goes to the guest as it
    /// came, as Firecracker forwards its stdin to the serial console.
    /// </param>
    public static void Start(MicroVm machine, bool escapes = true)
    {
        VmmThreads.Start(ThreadRole.ConsoleInput, null, () => Pump(machine, escapes));
    }

    private static void Pump(MicroVm machine, bool escapes)
    {
        using var stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
        var buffer = new byte[256];
        var forward = new byte[256];
        bool escape = false;
        while (!machine.StopRequested)
        {
            int n;
            try
            {
                n = stdin.Read(buffer, 0, buffer.Length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                return;
            }
            if (n <= 0)
                return;
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                if (!escapes)
                {
                    forward[count++] = b;
                    continue;
                }
                if (escape)
                {
                    escape = false;
                    if (b is (byte)'x' or (byte)'X')
                    {
                        machine.RequestStop("stopped with Ctrl-A X");
                        return;
                    }
                    if (b is (byte)'n' or (byte)'N')
                    {
                        bool delivered = machine.InjectNmi();
                        UserMessages.Note(delivered ? "NMI sent" : "NMI not delivered (the guest masked LINT1 or left NMI mode)");
                        continue;
                    }
                    if (b != CtrlA)
                        continue;
                }
                else if (b == CtrlA)
                {
                    escape = true;
                    continue;
                }
                forward[count++] = b;
            }
            if (count > 0)
                machine.SendConsoleInput(forward.AsSpan(0, count));
        }
    }
}
