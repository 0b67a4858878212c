namespace StreamSegments.Worker.Tests.Support;

/// <summary>Finds the repository root (the directory holding StreamSegments.sln) and the shared fixtures beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Fixture(string name) => Path.Combine(Root, "..", "shared", "fixtures", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StreamSegments.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No StreamSegments.sln above {AppContext.BaseDirectory}.");
    }
}
