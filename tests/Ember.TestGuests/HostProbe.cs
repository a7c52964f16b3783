using System.Diagnostics;

namespace Ember.TestGuests;

/// <summary>
/// Compiles and runs one of the plain C programs in HostProbes/ against /dev/kvm. When a KVM test
/// sees behaviour that differs from the KVM documentation, the same scenario written in C, with no
/// Ember code at all, tells whether the host's KVM is the cause.
/// </summary>
public static class HostProbe
{
    public static string Run(string probeName, string arguments = "")
    {
        string source = Path.Combine(AppContext.BaseDirectory, "HostProbes", probeName + ".c");
        string exe = Path.Combine(Path.GetTempPath(), $"ember-probe-{probeName}-{Environment.ProcessId}");
        try
        {
            var (compileCode, compileOutput) = Execute("gcc", $"-O1 -o {exe} {source}");
            if (compileCode != 0)
                throw new InvalidOperationException($"gcc failed on {probeName}.c:\n{compileOutput}");
            var (code, output) = Execute(exe, arguments);
            if (code != 0)
                throw new InvalidOperationException($"host probe {probeName} failed ({code}): {output}");
            return output.Trim();
        }
        finally
        {
            File.Delete(exe);
        }
    }

    private static (int ExitCode, string Output) Execute(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
