using PFStorer.Images;

namespace PFStorer.Restore;

/// <summary>Expands image arguments (`restore`, `degrade`) — files, folders (their images, not recursive) and globs (`*`, `?` in the file name) — in order, without duplicates.</summary>
internal static class ImageInputs
{
    public static (List<string> Files, List<string> Problems) Expand(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string path)
        {
            var full = Path.GetFullPath(path);
            if (seen.Add(full)) files.Add(full);
        }
        foreach (var arg in arguments)
        {
            if (File.Exists(arg)) Add(arg);
            else if (Directory.Exists(arg))
            {
                var images = Directory.EnumerateFiles(arg).Where(IsImageName).Order(StringComparer.Ordinal).ToList();
                if (images.Count == 0) problems.Add($"{arg}: folder holds no image ({string.Join(", ", ImageFile.Extensions)})");
                images.ForEach(Add);
            }
            else if (arg.IndexOfAny(['*', '?']) >= 0)
            {
                string dir = Path.GetDirectoryName(arg) is { Length: > 0 } d ? d : ".";
                var matches = Directory.Exists(dir)
                    ? Directory.EnumerateFiles(dir, Path.GetFileName(arg)).Order(StringComparer.Ordinal).ToList()
                    : [];
                if (matches.Count == 0) problems.Add($"{arg}: no file matches");
                matches.ForEach(Add);
            }
            else problems.Add($"{arg}: no such file or folder");
        }
        return (files, problems);
    }

    /// <summary>
    /// Inputs that would be written to the same output name (x.png and x.jpg both give x.png): one message per clash,
    /// so a batch says so before any work instead of losing one of them.
    /// </summary>
    public static List<string> OutputClashes(IEnumerable<string> files) =>
        files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{string.Join(" and ", g)} would all be written as {g.Key}.png; rename one or restore them in separate runs").ToList();

    private static bool IsImageName(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}
