using System.Text;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

public sealed class GuestCommandTests
{
    /// <summary>Words a shell would otherwise split, expand, glob, substitute or treat as assignments.</summary>
    private static readonly string[] AwkwardWords =
    [
        "a b", "it's", "'", "''", "$HOME", "${PATH}", "`id`", "$(id)", "", "new\nline", "tab\there", "*", "?", "[a]",
        "~", "~root", "a=b", "\\", "\"q\"", "ünïcødé", "-n", "#comment", ";", "&&", "|", ">out", "!", "%1",
    ];

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("/usr/bin/env", "/usr/bin/env")]
    [InlineData("-la", "-la")]
    [InlineData("a,b:c@d%e+f", "a,b:c@d%e+f")]
    [InlineData("", "''")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("a=b", "'a=b'")]
    [InlineData("~", "'~'")]
    [InlineData("*", "'*'")]
    public void WordsAreQuotedOnlyWhenTheyNeedIt(string word, string quoted)
    {
        Assert.Equal(quoted, GuestCommand.Quote(word));
    }

    [Fact]
    public void TheShellCommandJoinsQuotedWords()
    {
        Assert.Equal("echo 'hello world' ''", GuestCommand.ToShellCommand(["echo", "hello world", ""]));
    }

    [Fact]
    public void TheKernelArgumentIsTheBase64OfTheShellCommand()
    {
        var argument = GuestCommand.ToKernelArgument(["cat", "/proc/cpuinfo", "a b"]);

        Assert.StartsWith("ember.cmd=", argument);
        Assert.DoesNotContain(' ', argument);
        Assert.DoesNotContain('"', argument);
        var command = Encoding.UTF8.GetString(Convert.FromBase64String(argument["ember.cmd=".Length..]));
        Assert.Equal("cat /proc/cpuinfo 'a b'", command);
    }

    [Fact]
    public void UnusableCommandsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => GuestCommand.ToKernelArgument([]));
        Assert.Throws<ArgumentException>(() => GuestCommand.ToKernelArgument(["echo", "a\0b"]));
        Assert.Throws<ArgumentException>(() => GuestCommand.ToKernelArgument(["echo", new string('x', GuestCommand.MaxArgumentLength)]));
        var longest = GuestCommand.ToKernelArgument(["echo", new string('x', 1000)]);
        Assert.True(longest.Length <= GuestCommand.MaxArgumentLength);
    }

    [Theory]
    [InlineData("/bin/sh")]
    [InlineData("/bin/busybox")]
    public void AShellGivesTheProgramExactlyTheOriginalWords(string shell)
    {
        Assert.SkipUnless(File.Exists(shell), $"{shell} is not installed.");
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("zzz"), ""); // Something for an unquoted '*' or '?' to match.
        string[] argv = ["printf", "[%s]\\n", .. AwkwardWords];
        var shellArguments = shell.EndsWith("busybox", StringComparison.Ordinal) ? new[] { "sh", "-c" } : ["-c"];

        var result = HostTool.Run(shell, [.. shellArguments, GuestCommand.ToShellCommand(argv)], workingDirectory: temp.Path);

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal(string.Concat(AwkwardWords.Select(w => $"[{w}]\n")), result.StandardOutput);
    }

    [Fact]
    public void TheInitsDecodingPipelineRecoversTheCommand()
    {
        // The same steps /init takes: busybox base64 -d in a command substitution, then sh -c.
        const string busybox = "/bin/busybox";
        Assert.SkipUnless(File.Exists(busybox), "busybox-static is not installed.");
        string[] argv = ["printf", "[%s]\\n", .. AwkwardWords];
        var encoded = GuestCommand.ToKernelArgument(argv)["ember.cmd=".Length..];

        var result = HostTool.Run(busybox,
            ["sh", "-c", $"ember_script=$(echo \"$1\" | {busybox} base64 -d); {busybox} sh -c \"$ember_script\"", "init", encoded]);

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal(string.Concat(AwkwardWords.Select(w => $"[{w}]\n")), result.StandardOutput);
    }
}
