using System.Text;

namespace Ember.Cli;

/// <summary>
/// Standard output for Ember's own text (help, reports): a write that fails (stdout full, a closed pipe)
/// is remembered and the rest dropped, so the command can end with one clear line and its own status
/// instead of an exception from deep inside Console.
/// </summary>
internal sealed class GuardedTextWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    /// <summary>The first write failure, if any.</summary>
    public Exception? Failure { get; private set; }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void Flush() => Guard(inner.Flush);

    private void Guard(Action write)
    {
        if (Failure is not null)
            return;
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Failure = e;
        }
    }
}
