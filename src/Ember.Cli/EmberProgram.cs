using System.CommandLine;
using System.CommandLine.Parsing;
using Ember.Sys;

namespace Ember.Cli;

/// <summary>
/// The process around the command tree: standard descriptors checked first, parse errors as one line
/// and status 2, and every failure of Ember itself caught and reported in one line with its own status,
/// so that no exit status of Ember's can be mistaken for a guest's.
/// </summary>
internal static class EmberProgram
{
    public static int Run(string[] args)
    {
        // Before anything opens a file: a closed fd 0, 1 or 2 must not be handed to it.
        StandardDescriptors.EnsureOpen();
        var stdout = new GuardedTextWriter(Console.Out);
        Console.SetOut(stdout);
        try
        {
            var root = EmberCommandLine.Build();
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                string command = string.Join(' ', CommandPath(parse.CommandResult));
                UserMessages.Error($"{Describe(parse.Errors)} (see `{command} --help`)");
                return ExitStatus.UsageError;
            }
            // Ember handles SIGINT/SIGTERM/SIGHUP itself (RunCommand): no cancellation machinery from the parser.
            int status = parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null, Output = stdout });
            stdout.Flush();
            if (stdout.Failure is { } failure)
            {
                UserMessages.Error($"cannot write to standard output: {UserMessages.Describe(failure)}");
                return status == ExitStatus.Success ? ExitStatus.OutputFailure : status;
            }
            return status;
        }
        catch (Exception e)
        {
            UserMessages.Error($"internal error ({e.GetType().Name}: {e.Message}); please report it");
            return ExitStatus.EmberFailure;
        }
    }

    /// <summary>The most telling parse error: an unknown word says more than "Required command was not provided".</summary>
    private static string Describe(IReadOnlyList<ParseError> errors)
    {
        const string Unrecognized = "Unrecognized command or argument ";
        var unknown = errors.FirstOrDefault(e => e.Message.StartsWith(Unrecognized, StringComparison.Ordinal));
        if (unknown is not null)
            return $"unknown command or argument {unknown.Message[Unrecognized.Length..].TrimEnd('.')}";
        return errors[0].Message.TrimEnd('.');
    }

    private static IEnumerable<string> CommandPath(CommandResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent as CommandResult)
            names.Push(r.Command is RootCommand ? "ember" : r.Command.Name);
        return names;
    }
}
