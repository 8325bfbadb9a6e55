using PFStorer.Graph.Imaging;

namespace PFStorer.Restore;

/// <summary>Expands verb arguments (files, folders, simple globs like photos/*.jpg) into a sorted list of image files.</summary>
internal static class ImageInputs
{
    /// <summary>Throws on the first argument that names nothing.</summary>
    public static List<string> Expand(IEnumerable<string> arguments)
    {
        var problems = new List<string>();
        var files = Expand(arguments, problems);
        return problems.Count > 0 ? throw new FileNotFoundException(problems[0]) : files;
    }

    /// <summary>Collects a message per argument that names nothing and expands the others (a batch goes on past bad inputs).</summary>
    public static List<string> Expand(IEnumerable<string> arguments, List<string> problems)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var arg in arguments)
        {
            if (Directory.Exists(arg))
            {
                foreach (var f in Directory.EnumerateFiles(arg)) if (IsImage(f)) files.Add(Path.GetFullPath(f));
            }
            else if (arg.IndexOfAny(['*', '?']) >= 0)
            {
                string dir = Path.GetDirectoryName(arg) is { Length: > 0 } d ? d : ".";
                if (!Directory.Exists(dir)) { problems.Add($"{arg}: folder {dir} does not exist"); continue; }
                int before = files.Count;
                foreach (var f in Directory.EnumerateFiles(dir, Path.GetFileName(arg))) if (IsImage(f)) files.Add(Path.GetFullPath(f));
                if (files.Count == before) problems.Add($"{arg}: no PNG or JPEG file matches");
            }
            else if (File.Exists(arg)) files.Add(Path.GetFullPath(arg));
            else problems.Add($"{arg}: no such file or folder");
        }
        return [.. files];
    }

    public static bool IsImage(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}
