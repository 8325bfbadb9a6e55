using PFStorer.Graph.Imaging;

namespace PFStorer.Restore;

/// <summary>Expands verb arguments (files, folders, simple globs like photos/*.jpg) into a sorted list of image files.</summary>
internal static class ImageInputs
{
    public static List<string> Expand(IEnumerable<string> arguments)
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
                if (!Directory.Exists(dir)) throw new FileNotFoundException($"{arg}: folder {dir} does not exist");
                int before = files.Count;
                foreach (var f in Directory.EnumerateFiles(dir, Path.GetFileName(arg))) if (IsImage(f)) files.Add(Path.GetFullPath(f));
                if (files.Count == before) throw new FileNotFoundException($"{arg}: no PNG or JPEG file matches");
            }
            else if (File.Exists(arg)) files.Add(Path.GetFullPath(arg));
            else throw new FileNotFoundException($"{arg}: no such file or folder");
        }
        return [.. files];
    }

    public static bool IsImage(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}
