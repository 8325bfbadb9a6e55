namespace PFStorer.Images;

/// <summary>The file formats we write: PNG (lossless, 8 or 16 bits, text metadata), JPEG and WebP (lossy, 8 bits).</summary>
public enum OutputFormat { Png, Jpeg, Webp }

/// <summary>
/// How <see cref="ImageFile.Encode"/> writes an image. <see cref="Quality"/> (1–100) applies to JPEG and lossy WebP;
/// <see cref="SixteenBit"/> and <see cref="Text"/> only to PNG (the other formats refuse them rather than drop them).
/// </summary>
public sealed record ImageSaveOptions(OutputFormat Format = OutputFormat.Png, int Quality = 95, bool SixteenBit = false,
    IReadOnlyDictionary<string, string>? Text = null)
{
    public static ImageSaveOptions Png(IReadOnlyDictionary<string, string>? text = null, bool sixteenBit = false)
        => new(OutputFormat.Png, SixteenBit: sixteenBit, Text: text);

    public static ImageSaveOptions Jpeg(int quality) => new(OutputFormat.Jpeg, quality);

    /// <summary>The file extension for <see cref="Format"/> (with the dot).</summary>
    public string Extension => Format switch { OutputFormat.Jpeg => ".jpg", OutputFormat.Webp => ".webp", _ => ".png" };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that the format cannot honour.</summary>
    public void Validate()
    {
        if (Quality is < 1 or > 100) throw new ArgumentException($"image quality {Quality} must be 1..100");
        if (Format == OutputFormat.Png) return;
        string name = Format == OutputFormat.Jpeg ? "JPEG" : "WebP";
        if (SixteenBit) throw new ArgumentException($"{name} stores 8 bits per sample; 16-bit output needs PNG");
        if (Text is { Count: > 0 }) throw new ArgumentException($"text metadata is written to PNG only, not {name}");
    }
}
