namespace Ember.Vmm.Tests.Linux;

/// <summary>Finds the Debian cloud kernel (linux-image-cloud-amd64) that the Linux boot tests use.</summary>
internal static class LinuxKernelLocator
{
    public static string? FindCloudKernel() =>
        Directory.Exists("/boot")
            ? Directory.GetFiles("/boot", "vmlinuz-*-cloud-amd64").OrderByDescending(f => f, StringComparer.Ordinal).FirstOrDefault()
            : null;
}
