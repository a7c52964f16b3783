using System.Text;

namespace Ember.Vmm.Images;

/// <summary>
/// Turns a command (an argv array) into the <c>ember.cmd=&lt;base64&gt;</c> kernel parameter that
/// the default guest's /init runs instead of an interactive shell.
/// <para>
/// The argv is first made into one POSIX shell command line, each word quoted so the guest's
/// `sh -c` sees exactly these words (no expansion, globbing or splitting), then base64-encoded
/// (RFC 4648 §4, with padding) so the parameter has no spaces or quotes for the kernel's
/// command-line parser to split on. The name has a dot on purpose: the kernel treats "x.y=" as a
/// parameter of module x and neither warns about it nor passes it to init as an argument or
/// environment variable (init/main.c, unknown_bootoption), so only /proc/cmdline carries it.
/// </para>
/// </summary>
public static class GuestCommand
{
    public const string ParameterName = "ember.cmd";

    /// <summary>
    /// Longest "ember.cmd=..." accepted. x86's COMMAND_LINE_SIZE is 2048 bytes including the NUL
    /// (arch/x86/include/asm/setup.h); 256 are left for the rest of the command line.
    /// </summary>
    public const int MaxArgumentLength = 2048 - 256;

    /// <summary>
    /// Characters special to the shell nowhere in a word (POSIX XCU §2.2, §2.6). '=' is left out
    /// because a first word with one is an assignment (§2.9.1), '~' because it starts tilde expansion.
    /// </summary>
    private const string SafeCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+:,./-";

    /// <summary>"ember.cmd=" followed by the base64 of <see cref="ToShellCommand"/>.</summary>
    public static string ToKernelArgument(string[] argv)
    {
        var command = ToShellCommand(argv);
        var argument = ParameterName + "=" + Convert.ToBase64String(Encoding.UTF8.GetBytes(command));
        if (argument.Length > MaxArgumentLength)
            throw new ArgumentException($"The command is too long for the kernel command line ({argument.Length} > {MaxArgumentLength} characters once encoded).", nameof(argv));
        return argument;
    }

    /// <summary>The argv as one shell command line: the words quoted where needed and joined by spaces.</summary>
    public static string ToShellCommand(string[] argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        if (argv.Length == 0)
            throw new ArgumentException("A guest command needs at least the program name.", nameof(argv));
        return string.Join(' ', argv.Select(Quote));
    }

    /// <summary>
    /// One shell word that expands to exactly <paramref name="word"/>. Words made only of safe
    /// characters stay as they are; anything else goes in single quotes, inside which the shell
    /// gives no character a special meaning (POSIX XCU §2.2.2); a single quote itself is written
    /// as '\'' (close, escaped quote, reopen). An empty word becomes ''.
    /// </summary>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Contains('\0'))
            throw new ArgumentException("A command word cannot contain NUL: argv strings end at NUL.", nameof(word));
        if (word.Length == 0)
            return "''";
        return word.AsSpan().IndexOfAnyExcept(SafeCharacters) < 0
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";
    }
}
