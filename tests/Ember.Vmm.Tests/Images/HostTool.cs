using System.Diagnostics;

namespace Ember.Vmm.Tests.Images;

/// <summary>Runs host programs (cpio, busybox, sh) the way a test needs: stdin bytes in, exit code and output out.</summary>
internal static class HostTool
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    /// <summary>The full path of <paramref name="program"/> on PATH (or as given, if absolute and present), else null.</summary>
    public static string? Find(string program)
    {
        if (Path.IsPathRooted(program))
            return File.Exists(program) ? program : null;
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>GNU cpio's path; skips the test when it is not installed.</summary>
    public static string RequireCpio()
    {
        var cpio = Find("cpio");
        Assert.SkipWhen(cpio is null, "GNU cpio is not installed (apt-get install cpio).");
        return cpio!;
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static Result Run(string program, IEnumerable<string> arguments, byte[]? standardInput = null, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
                start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
            process.StandardInput.BaseStream.Write(standardInput);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within 60 s.");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
