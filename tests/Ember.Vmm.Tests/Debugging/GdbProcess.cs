using System.Diagnostics;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>Runs the real GNU debugger in batch mode against a stub and captures what it printed.</summary>
internal static class GdbProcess
{
    public const string Executable = "/usr/bin/gdb";

    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(180);

    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => Output;
    }

    public static bool IsInstalled => File.Exists(Executable);

    /// <summary>
    /// gdb -batch -nx with <paramref name="symbolFile"/> (or none), connected to <paramref name="target"/> (HOST:PORT or a
    /// socket path), then each command. <paramref name="whileRunning"/> is called with the started gdb (to interrupt it).
    /// <paramref name="echoCommands"/> has gdb print each command before its output (<c>set trace-commands on</c>: lines
    /// starting with '+'), for a transcript; checks on such output must not match the echoed commands.
    /// </summary>
    public static Result Run(string? symbolFile, string target, IEnumerable<string> commands, Action<Process>? whileRunning = null,
        bool echoCommands = false)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string argument in (string[])["-batch", "-nx", "-q", "-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set width 0"])
            info.ArgumentList.Add(argument);
        if (echoCommands)
        {
            info.ArgumentList.Add("-ex");
            info.ArgumentList.Add("set trace-commands on");
        }
        if (symbolFile is not null)
        {
            info.ArgumentList.Add("-ex");
            info.ArgumentList.Add($"file {symbolFile}");
        }
        info.ArgumentList.Add("-ex");
        info.ArgumentList.Add($"target remote {target}");
        foreach (string command in commands)
        {
            info.ArgumentList.Add("-ex");
            info.ArgumentList.Add(command);
        }
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = new System.Text.StringBuilder();
        void OnLine(string? line)
        {
            if (line is null)
                return;
            lock (output)
                output.AppendLine(line);
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        whileRunning?.Invoke(process);
        if (!process.WaitForExit(SafetyNet))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gdb did not finish within {SafetyNet.TotalSeconds} s; it printed:\n{output}");
        }
        process.WaitForExit();
        lock (output)
            return new Result(process.ExitCode, output.ToString());
    }
}
