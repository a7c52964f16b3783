namespace Ember.Vmm.Acpi;

/// <summary>
/// A device's contribution to the DSDT: one AML term inside <c>Scope (\_SB)</c>, usually a <c>Device ()</c> with
/// its _HID and _CRS. The device manager keeps one per device that has one, so the DSDT describes exactly the
/// devices the machine has (<see cref="Devices.DeviceManager.AmlDevices"/>).
/// </summary>
public interface IAmlDevice
{
    /// <summary>The AML bytes of the term, encoded when the DSDT is built (after every device is in place).</summary>
    byte[] EncodeAml();
}
