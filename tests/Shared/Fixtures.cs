using System.Reflection;

namespace PFStorer.Tests;

/// <summary>Locates tests/fixtures (path baked in at build time, overridable with PFSTORER_FIXTURES).</summary>
internal static class Fixtures
{
    public static string Dir { get; } = Environment.GetEnvironmentVariable("PFSTORER_FIXTURES")
        ?? typeof(Fixtures).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "FixturesDir").Value!;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Dir, .. parts]);

    /// <summary>A file of the repository's examples/ folder (shipped photos the README uses), found beside tests/fixtures.</summary>
    public static string Example(params string[] parts) => System.IO.Path.GetFullPath(System.IO.Path.Combine([Dir, "..", "..", "examples", .. parts]));
}
