using System.Collections.Concurrent;
using System.Diagnostics;

namespace Ember.Cli.Tests;

/// <summary>
/// The real `ember` program (ember.dll under `dotnet`, as <see cref="EmberProcess"/> runs it) kept running while a test
/// reads its stdout line by line as it comes, writes to its stdin, and kills it at a moment of its choosing.
/// Disposing kills it if the test has not.
/// </summary>
internal sealed class RunningEmber : IDisposable
{
    /// <summary>The longest a test waits for one line: a safety net against a hung guest, not a verdict on speed.</summary>
    public static readonly TimeSpan LineSafetyNet = TimeSpan.FromSeconds(300);

    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _seen = [];
    private readonly Task<string> _stderr;
    private readonly Task _reader;

    public RunningEmber(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add(EmberProcess.Dll);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        _process = Process.Start(info)!;
        _stderr = _process.StandardError.ReadToEndAsync();
        var stdout = _process.StandardOutput;
        _reader = Task.Run(() =>
        {
            try
            {
                while (stdout.ReadLine() is { } line)
                    _lines.Add(line);
            }
            finally
            {
                _lines.CompleteAdding();
            }
        });
    }

    /// <summary>Every stdout line read so far, for failure messages.</summary>
    public string Seen => string.Join('\n', _seen);

    /// <summary>
    /// Returns as soon as a stdout line equal to <paramref name="line"/> (ignoring surrounding whitespace) has been read;
    /// throws when ember's stdout ends first or the safety net runs out.
    /// </summary>
    public void WaitForLine(string line)
    {
        var deadline = DateTime.UtcNow + LineSafetyNet;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"no line '{line}' from ember within the {LineSafetyNet.TotalSeconds} s safety net; stdout so far:\n{Seen}");
            if (!_lines.TryTake(out var next, left))
            {
                if (_lines.IsCompleted)
                    throw new InvalidOperationException($"ember's stdout ended before '{line}'; stdout:\n{Seen}\nstderr:\n{Stderr()}");
                continue;
            }
            _seen.Add(next);
            if (next.Trim() == line)
                return;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to ember's stdin (the guest's COM1 with --console stdio).</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        _process.StandardInput.BaseStream.Write(bytes);
        _process.StandardInput.BaseStream.Flush();
    }

    /// <summary>SIGKILL (Process.Kill on Unix), then waits until the process is gone; returns its exit status (128 + 9 when the kill ended it).</summary>
    public int KillAndWait()
    {
        _process.Kill();
        if (!_process.WaitForExit(LineSafetyNet))
            throw new TimeoutException("ember did not die after SIGKILL");
        return _process.ExitCode;
    }

    private string Stderr() => _stderr.Wait(TimeSpan.FromSeconds(10)) ? _stderr.Result : "(stderr still open)";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                KillAndWait();
        }
        finally
        {
            // The reader adds until stdout ends, which the kill has made happen; dispose the lines only once it stopped.
            if (_reader.Wait(TimeSpan.FromSeconds(10)))
                _lines.Dispose();
            _process.Dispose();
        }
    }
}
