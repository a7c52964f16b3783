namespace Ember.TestGuests;

/// <summary>The CPU mode a test guest starts in.</summary>
public enum GuestMode
{
    Real16,
    Protected32,
    Long64,
}
