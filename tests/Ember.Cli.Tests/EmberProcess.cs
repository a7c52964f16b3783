using System.Diagnostics;
using Ember.TestGuests;

namespace Ember.Cli.Tests;

/// <summary>Runs the real `ember` program (the built ember.dll under `dotnet`) and captures what it did.</summary>
internal static class EmberProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] arguments) => RunWithInput(null, arguments);

    /// <summary>The path of the ember.dll under test, for commands built by hand (a shell, a pty driver).</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ember.dll");

    /// <summary>The Native AOT `ember` that ./test.sh and run.sh publish to artifacts/ember-aot in the repository.</summary>
    public static string NativeAotBinary => Path.Combine(RepositoryLayout.Root, "artifacts", "ember-aot", "ember");

    /// <summary>
    /// Runs ember through bash with <paramref name="redirections"/> applied to it (e.g. "2>&amp;-", "&lt;&amp;-",
    /// "&gt;/dev/full"), the way a user's shell would start it; stdout and stderr are captured unless redirected.
    /// </summary>
    public static Result RunRedirected(string redirections, params string[] arguments) =>
        RunProgram("bash", ["-c", $"exec dotnet \"$0\" \"$@\" {redirections}", Dll, .. arguments]);

    /// <summary>Runs ember with <paramref name="input"/> written to its stdin (then stdin stays open until exit).</summary>
    public static Result RunWithInput(byte[]? input, params string[] arguments) =>
        RunProgram("dotnet", [Dll, .. arguments], input);

    /// <summary>
    /// Runs <paramref name="program"/> (ember under dotnet or bash, or a tool such as `ip netns exec` that
    /// starts it), with stdin closed unless <paramref name="input"/> is given, and waits for it behind a
    /// 300 s safety net.
    /// </summary>
    public static Result RunProgram(string program, IEnumerable<string> arguments, byte[]? input = null)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        if (input is null)
        {
            process.StandardInput.Close();
        }
        else
        {
            process.StandardInput.BaseStream.Write(input);
            process.StandardInput.BaseStream.Flush();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(300)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within the 300 s safety net");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
