using Ember.Sys;

namespace Ember.Vmm.Control;

/// <summary>The file checks every resource with a host path makes, with one wording for each problem.</summary>
internal static class ResourceFiles
{
    public static void RequireReadable(string field, string what, string path)
    {
        if (string.IsNullOrEmpty(path))
            throw new ResourceConfigException($"{field}: the {what} path is empty");
        var (kind, size) = HostFile.Inspect(path);
        string? problem = kind switch
        {
            HostFileKind.Regular when size == 0 => $"the {what} {path} is empty",
            HostFileKind.Regular => null,
            HostFileKind.Missing => $"the {what} {path} does not exist",
            HostFileKind.Directory => $"the {what} {path} is a directory",
            HostFileKind.NoPermission => $"the {what} {path} cannot be read: permission denied",
            _ => $"the {what} {path} is not a regular file",
        };
        if (problem is not null)
            throw new ResourceConfigException($"{field}: {problem}");
    }

    /// <summary>A file Ember will create or append to: not a directory, and its directory exists.</summary>
    public static void RequireWritable(string field, string what, string path)
    {
        if (string.IsNullOrEmpty(path))
            throw new ResourceConfigException($"{field}: the {what} path is empty");
        var kind = HostFile.Inspect(path).Kind;
        if (kind == HostFileKind.Directory)
            throw new ResourceConfigException($"{field}: the {what} {path} is a directory");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (kind == HostFileKind.Missing && directory is not null && HostFile.Inspect(directory).Kind != HostFileKind.Directory)
            throw new ResourceConfigException($"{field}: the directory of the {what} {path} does not exist");
    }
}
