namespace Ember.Vmm.Control;

/// <summary>Where the guest's serial console goes (Firecracker's SerialDevice); without a path, standard output.</summary>
public sealed record SerialResource(string? SerialOutPath)
{
    public void Validate()
    {
        if (SerialOutPath is not null)
            ResourceFiles.RequireWritable("serial_out_path", "serial output file", SerialOutPath);
    }
}
