using PFStorer.Graph.Checkpoints;

namespace PFStorer.Graph.Imaging;

/// <summary>Reading and writing image files by content (PNG or JPEG signature), with the guard rails in one place.</summary>
public static class ImageFile
{
    /// <summary>Largest image accepted by default: 100 megapixels (a 10000×10000 photo; 400 MB as float RGBA).</summary>
    public const long DefaultMaxPixels = 100_000_000;

    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg"];

    public static Image Read(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException(path, $"cannot read: {e.Message}", e);
        }
        return Decode(data, path, maxPixels);
    }

    public static Image Decode(ReadOnlySpan<byte> data, string source, long maxPixels = DefaultMaxPixels)
    {
        if (data.Length == 0) throw new ImageFormatException(source, "empty file");
        if (PngCodec.IsPng(data)) return PngCodec.Decode(data, source, maxPixels);
        if (JpegCodec.IsJpeg(data)) return JpegCodec.Decode(data, source, maxPixels);
        throw new ImageFormatException(source, "neither a PNG nor a JPEG file");
    }

    /// <summary>
    /// Writes a PNG atomically (temporary file + rename), with optional tEXt metadata. Without
    /// <paramref name="overwrite"/> an existing file is never replaced, even one created while this was encoding
    /// (IOException "already exists").
    /// </summary>
    public static void WritePng(string path, Image image, IReadOnlyDictionary<string, string>? text = null, bool overwrite = true)
        => WriteAtomically(path, PngCodec.Encode(image, text), overwrite);

    public static void WriteJpeg(string path, Image image, int quality)
        => WriteAtomically(path, JpegCodec.Encode(image, quality), overwrite: true);

    /// <summary>
    /// Creates the parent folder if needed; encoding happens before the temporary file exists, so a failed encode
    /// leaves nothing behind.
    /// </summary>
    private static void WriteAtomically(string path, byte[] bytes, bool overwrite)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, stream => stream.Write(bytes), overwrite);
    }

    internal static void CheckSize(string source, long width, long height, long maxPixels)
    {
        if (width <= 0 || height <= 0) throw new ImageFormatException(source, $"zero-sized image ({width}x{height})");
        if (width * height > maxPixels)
            throw new ImageFormatException(source, $"{width}x{height} = {width * height} pixels exceeds the limit of {maxPixels}");
    }
}
