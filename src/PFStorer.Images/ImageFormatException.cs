namespace PFStorer.Images;

/// <summary>A file that is not a readable image (corrupt, truncated, zero-sized, too large, unsupported); names the file.</summary>
public sealed class ImageFormatException : Exception
{
    public string FileName { get; }

    public ImageFormatException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner) => FileName = source;
}
