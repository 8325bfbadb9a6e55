namespace PFStorer.Images;

/// <summary>
/// Reading image files by content (PNG, JPEG, WebP, BMP, TIFF, GIF) and encoding PNG, JPEG or WebP, with the guard
/// rails in one place: every failure is an <see cref="ImageFormatException"/> naming the file. Writing the bytes to
/// disk is the caller's (atomically, with the host's AtomicFile).
/// </summary>
public static class ImageFile
{
    /// <summary>Largest image accepted by default: 100 megapixels (a 10000×10000 photo; 400 MB as float RGBA).</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>The extensions a folder listing treats as images (reading itself goes by content, not by name).</summary>
    public static IReadOnlyList<string> Extensions { get; } =
        [".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif"];

    public static Image Read(string path, long maxPixels = DefaultMaxPixels) => Decode(ReadBytes(path), path, maxPixels);

    /// <summary>Decodes file bytes; <paramref name="source"/> names the file in errors.</summary>
    public static Image Decode(byte[] data, string source, long maxPixels = DefaultMaxPixels)
        => ImageDecoder.Decode(data, source, maxPixels).Image;

    /// <summary>The PNG text chunks (tEXt, zTXt, iTXt) as keyword → text, later duplicates winning; empty for other formats.</summary>
    public static IReadOnlyDictionary<string, string> ReadText(string path) => ReadText(ReadBytes(path), path);

    /// <inheritdoc cref="ReadText(string)"/>
    public static IReadOnlyDictionary<string, string> ReadText(byte[] data, string source) => ImageDecoder.Decode(data, source, DefaultMaxPixels).Text;

    /// <summary>The file bytes of <paramref name="image"/> in the requested format (see <see cref="ImageSaveOptions"/>).</summary>
    public static byte[] Encode(Image image, ImageSaveOptions options) => ImageEncoder.Encode(image, options);

    private static byte[] ReadBytes(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException(path, $"cannot read: {e.Message}", e);
        }
    }

    internal static void CheckSize(string source, long width, long height, long maxPixels)
    {
        if (width <= 0 || height <= 0) throw new ImageFormatException(source, $"zero-sized image ({width}x{height})");
        if (width * height > maxPixels)
            throw new ImageFormatException(source, $"{width}x{height} = {width * height} pixels exceeds the limit of {maxPixels}");
    }
}
