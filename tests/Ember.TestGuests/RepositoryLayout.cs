namespace Ember.TestGuests;

/// <summary>Where the repository's build outputs are, for tests that run what ./test.sh built (the AOT ember, the samples).</summary>
public static class RepositoryLayout
{
    /// <summary>The checkout the running tests were built in: the first directory above them that holds Ember.sln.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Ember.sln")))
                    return directory.FullName;
            }
            throw new InvalidOperationException($"no Ember.sln above {AppContext.BaseDirectory}");
        }
    }
}
