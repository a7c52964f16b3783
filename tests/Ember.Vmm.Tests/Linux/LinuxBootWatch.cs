using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Ember.Devices.Legacy;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// The serial console of a Linux boot under test: checks each line against the patterns still pending,
/// and keeps a timeline of when each one was first seen, so that a failure says how far the guest got
/// and how long that took instead of only that it ran out of time. <paramref name="onLine"/> sees every
/// line as it completes (on the serial thread: it must return quickly).
/// </summary>
internal sealed class LinuxBootWatch(IEnumerable<string> required, Action onAllSeen, Action<string>? onLine = null) : ISerialOutput
{
    private const int TailLength = 3000;
    private readonly List<Regex> _pending = [.. required.Select(p => new Regex(p, RegexOptions.CultureInvariant))];
    private readonly List<(TimeSpan At, string Line)> _timeline = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StringBuilder _tail = new();
    private readonly StringBuilder _line = new();
    private string _lastLine = "";
    private TimeSpan _lastLineAt;

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_pending)
        {
            foreach (byte b in data)
            {
                _tail.Append((char)b);
                if (b == '\n')
                    OnLine(_line.ToString());
                else if (b != '\r' && _line.Length < 4096)
                    _line.Append((char)b);
            }
            if (_tail.Length > 2 * TailLength)
                _tail.Remove(0, _tail.Length - TailLength);
        }
    }

    private void OnLine(string line)
    {
        _line.Clear();
        if (line.Length == 0)
            return;
        _lastLine = line;
        _lastLineAt = _clock.Elapsed;
        onLine?.Invoke(line);
        int matched = _pending.RemoveAll(r => r.IsMatch(line));
        if (matched > 0)
            _timeline.Add((_clock.Elapsed, line.Length <= 72 ? line : line[..72]));
        if (matched > 0 && _pending.Count == 0)
            onAllSeen();
    }

    public IReadOnlyList<string> Pending
    {
        get { lock (_pending) return [.. _pending.Select(r => r.ToString())]; }
    }

    /// <summary>How far the guest got: the required lines in the order they came, the last line printed, and the console tail.</summary>
    public string Progress()
    {
        lock (_pending)
        {
            var text = new StringBuilder();
            text.AppendLine($"after {_clock.Elapsed.TotalSeconds:F0} s; required lines seen:");
            foreach (var (at, line) in _timeline)
                text.AppendLine($"  {at.TotalSeconds,7:F1} s  {line}");
            text.AppendLine($"last console line at {_lastLineAt.TotalSeconds:F1} s: {_lastLine}");
            text.AppendLine("console tail:");
            text.Append(_tail.Length <= TailLength ? _tail.ToString() : _tail.ToString()[^TailLength..]);
            return text.ToString();
        }
    }
}
