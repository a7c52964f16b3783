using System.Text;
using System.Text.RegularExpressions;

namespace Ember.Cli.Tests;

/// <summary>
/// The system calls of a process tree as `strace -f -o FILE` wrote them, one per line in the order they happened. A call
/// another thread interrupted is split into "name(args &lt;unfinished ...&gt;" and "&lt;... name resumed&gt;...) = result";
/// a call counts as done at the line that shows its result, which is what ordering questions need.
/// </summary>
internal sealed partial class SyscallTrace
{
    private readonly string[] _lines;

    private SyscallTrace(string[] lines) => _lines = lines;

    public static SyscallTrace Read(string path) => new(File.ReadAllLines(path));

    /// <summary>The trace itself, for a failure message.</summary>
    public string Text => string.Join('\n', _lines);

    /// <summary>One finished call: where its result shows, its pid, its name, its arguments as strace printed them, and its result.</summary>
    public sealed record Call(int Line, int Pid, string Name, string Arguments, long Result);

    /// <summary>Every finished call named one of <paramref name="names"/>, in the order they finished.</summary>
    public IReadOnlyList<Call> Finished(params string[] names)
    {
        var calls = new List<Call>();
        var pending = new Dictionary<(int Pid, string Name), string>();
        for (int i = 0; i < _lines.Length; i++)
        {
            if (Whole().Match(_lines[i]) is { Success: true } whole && names.Contains(whole.Groups["name"].Value))
            {
                calls.Add(new Call(i, int.Parse(whole.Groups["pid"].Value), whole.Groups["name"].Value, whole.Groups["args"].Value,
                    long.Parse(whole.Groups["result"].Value)));
            }
            else if (Unfinished().Match(_lines[i]) is { Success: true } start && names.Contains(start.Groups["name"].Value))
            {
                pending[(int.Parse(start.Groups["pid"].Value), start.Groups["name"].Value)] = start.Groups["args"].Value;
            }
            else if (Resumed().Match(_lines[i]) is { Success: true } end && names.Contains(end.Groups["name"].Value))
            {
                var key = (int.Parse(end.Groups["pid"].Value), end.Groups["name"].Value);
                if (pending.Remove(key, out var head))
                    calls.Add(new Call(i, key.Item1, key.Item2, head + end.Groups["args"].Value, long.Parse(end.Groups["result"].Value)));
            }
        }
        return calls;
    }

    /// <summary>
    /// The line at which the bytes a process tree wrote to stdout (write calls on descriptor 1 or a duplicate of it, in
    /// order) first contain <paramref name="text"/>, or -1. .NET writes Console.OpenStandardOutput() through a duplicate
    /// (fcntl F_DUPFD_CLOEXEC), so the trace must hold write, fcntl, dup, dup2, dup3 and close, with a string size
    /// (-s) longer than any one write.
    /// </summary>
    public int LineWhereStdoutContains(string text)
    {
        var stdout = new StringBuilder();
        var aliases = new HashSet<long> { 1 };
        foreach (var call in Finished("write", "fcntl", "dup", "dup2", "dup3", "close"))
        {
            string[] arguments = call.Arguments.Split(", ");
            bool fromStdout = long.TryParse(arguments[0], out long fd) && aliases.Contains(fd);
            switch (call.Name)
            {
                case "fcntl" when fromStdout && arguments.Length > 1 && arguments[1].StartsWith("F_DUPFD", StringComparison.Ordinal) && call.Result >= 0:
                case "dup" or "dup2" or "dup3" when fromStdout && call.Result >= 0:
                    aliases.Add(call.Result);
                    break;
                case "dup2" or "dup3" when !fromStdout && call.Result >= 0:
                    aliases.Remove(call.Result);   // the target now names another file
                    break;
                case "close" when call.Result == 0:
                    aliases.Remove(fd);
                    break;
                case "write" when fromStdout && call.Result > 0 && WriteData().Match(call.Arguments) is { Success: true } write:
                    stdout.Append(Unescape(write.Groups["data"].Value));
                    if (stdout.ToString().Contains(text, StringComparison.Ordinal))
                        return call.Line;
                    break;
            }
        }
        return -1;
    }

    /// <summary>strace's C-style string escapes: \n \r \t \\ \" and \ooo octal.</summary>
    private static string Unescape(string quoted)
    {
        var text = new StringBuilder();
        for (int i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] != '\\' || i + 1 == quoted.Length)
            {
                text.Append(quoted[i]);
                continue;
            }
            char next = quoted[++i];
            switch (next)
            {
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case >= '0' and <= '7':
                    int value = 0, digits = 0;
                    while (digits < 3 && i < quoted.Length && quoted[i] is >= '0' and <= '7')
                    {
                        value = value * 8 + (quoted[i] - '0');
                        i++;
                        digits++;
                    }
                    i--;
                    text.Append((char)value);
                    break;
                default: text.Append(next); break;
            }
        }
        return text.ToString();
    }

    [GeneratedRegex(@"^(?<pid>\d+)\s+(?<name>\w+)\((?<args>.*)\)\s+=\s+(?<result>-?\d+)")]
    private static partial Regex Whole();

    [GeneratedRegex(@"^(?<pid>\d+)\s+(?<name>\w+)\((?<args>.*?)\s*<unfinished \.\.\.>$")]
    private static partial Regex Unfinished();

    [GeneratedRegex(@"^(?<pid>\d+)\s+<\.\.\. (?<name>\w+) resumed>(?<args>.*)\)\s+=\s+(?<result>-?\d+)")]
    private static partial Regex Resumed();

    [GeneratedRegex(@"^\d+,\s+""(?<data>(?:[^""\\]|\\.)*)""")]
    private static partial Regex WriteData();
}
