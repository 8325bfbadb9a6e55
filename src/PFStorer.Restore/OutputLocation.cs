using PFStorer.Graph.Checkpoints;

namespace PFStorer.Restore;

/// <summary>
/// Up-front checks of where a verb will write, shared by every writing verb, so that an unusable location is reported
/// before any work (not after each image is computed) with a message that says what is wrong.
/// </summary>
internal static class OutputLocation
{
    /// <summary>Creates <paramref name="dir"/> if needed and proves a file can be created there; null when fine, else the problem.</summary>
    public static string? CheckFolder(string dir, string option)
    {
        if (File.Exists(dir)) return $"{option} {dir} is an existing file; it must be a folder";
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{option} {dir}: cannot create the folder ({e.Message})";
        }
        return Writable(dir, option);
    }

    /// <summary>Checks a file to be written: not a folder, not one of <paramref name="inputs"/> (by file identity), in a writable folder.</summary>
    public static string? CheckFile(string file, string option, IEnumerable<string> inputs)
    {
        if (Directory.Exists(file)) return $"{option} {file} is a folder; give the name of the file to write";
        if (FileIdentity.SameAsAny(file, inputs)) return $"{option} {file} is one of the inputs (the same file); refusing to overwrite it";
        string dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        return Directory.Exists(dir) ? Writable(dir, option) : $"{option} {file}: the folder {dir} does not exist";
    }

    private static string? Writable(string dir, string option)
    {
        try
        {
            AtomicFile.ProbeFolder(dir);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{option} {dir}: cannot write there ({e.Message})";
        }
    }
}
