namespace Ember.Cli;

/// <summary>
/// Closes a console stream whose last flush may fail (a full device, a closed pipe): the guest's output is
/// already counted as lost by then, and such a failure must not replace the guest's exit status.
/// </summary>
internal sealed class QuietDispose(IDisposable target) : IDisposable
{
    public void Dispose()
    {
        try
        {
            target.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }
}
