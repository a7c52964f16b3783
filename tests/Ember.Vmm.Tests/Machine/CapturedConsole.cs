using System.Text;
using Ember.Devices.Legacy;

namespace Ember.Vmm.Tests.Machine;

/// <summary>Collects what the guest writes to COM1.</summary>
internal sealed class CapturedConsole : ISerialOutput
{
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
            _text.Append(Encoding.Latin1.GetString(data));
    }

    public string Text
    {
        get
        {
            lock (_lock)
                return _text.ToString();
        }
    }
}
