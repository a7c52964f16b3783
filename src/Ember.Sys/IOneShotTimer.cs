namespace Ember.Sys;

/// <summary>
/// A re-armable one-shot timer whose callback was fixed when it was made. Devices that must wait (a request a
/// rate limiter refused) hold one of these, not an event loop: the machine decides where the callback runs.
/// </summary>
public interface IOneShotTimer
{
    /// <summary>Fires once after <paramref name="delay"/>, replacing any earlier arming.</summary>
    void Arm(TimeSpan delay);

    /// <summary>Drops a pending expiry.</summary>
    void Cancel();
}
