using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SharpImage = SixLabors.ImageSharp.Image;

namespace PFStorer.Images;

/// <summary><see cref="Image"/> → file bytes through ImageSharp (docs/images.md).</summary>
internal static class ImageEncoder
{
    public static byte[] Encode(Image image, ImageSaveOptions options)
    {
        options.Validate();
        using var sharp = ToSharp(image, options);
        IImageEncoder encoder = options.Format switch
        {
            OutputFormat.Jpeg => new JpegEncoder
            {
                Quality = options.Quality,
                // 4:2:0, as libjpeg (and so OpenCV's imencode) does by default.
                ColorType = image.ColorChannels == 1 ? JpegColorType.Luminance : JpegColorType.YCbCrRatio420,
            },
            OutputFormat.Webp => new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = options.Quality },
            _ => new PngEncoder
            {
                BitDepth = options.SixteenBit ? PngBitDepth.Bit16 : PngBitDepth.Bit8,
                ColorType = image.Channels switch
                {
                    1 => PngColorType.Grayscale, 2 => PngColorType.GrayscaleWithAlpha, 3 => PngColorType.Rgb, _ => PngColorType.RgbWithAlpha,
                },
            },
        };
        if (options.Text is { Count: > 0 } text) AddText(sharp, text);
        using var stream = new MemoryStream();
        sharp.Save(stream, encoder);
        return stream.ToArray();
    }

    /// <summary>
    /// The ImageSharp image whose pixel type holds exactly what the target keeps: JPEG drops alpha (it has none),
    /// WebP has no gray (gray expands to RGB), PNG keeps the channel count; 16-bit PNG samples are round(v·257).
    /// </summary>
    private static SharpImage ToSharp(Image image, ImageSaveOptions options)
    {
        var src = image;
        if (options.Format == OutputFormat.Jpeg && src.HasAlpha) src = src.WithoutAlpha();
        if (options.Format == OutputFormat.Webp && src.ColorChannels == 1) src = ImageChannels.GrayToRgb(src);
        int w = src.Width, h = src.Height;
        if (options.SixteenBit)
        {
            var f = src.Kind == PixelKind.F32 ? src.F32! : src.ToF32().F32!;
            var wide = new ushort[f.Length];
            for (int i = 0; i < f.Length; i++) wide[i] = (ushort)Math.Clamp(MathF.Round(f[i] * 257f), 0f, 65535f);
            var raw = MemoryMarshal.AsBytes(wide.AsSpan());
            return src.Channels switch
            {
                1 => Wrap<L16>(raw, w, h), 2 => Wrap<La32>(raw, w, h), 3 => Wrap<Rgb48>(raw, w, h), _ => Wrap<Rgba64>(raw, w, h),
            };
        }
        var bytes = (src.Kind == PixelKind.U8 ? src : src.ToU8()).U8!;
        return src.Channels switch
        {
            1 => Wrap<L8>(bytes, w, h), 2 => Wrap<La16>(bytes, w, h), 3 => Wrap<Rgb24>(bytes, w, h), _ => Wrap<Rgba32>(bytes, w, h),
        };
    }

    private static Image<TPixel> Wrap<TPixel>(ReadOnlySpan<byte> interleaved, int w, int h) where TPixel : unmanaged, IPixel<TPixel>
        => SharpImage.LoadPixelData(ImageDecoder.Formats, MemoryMarshal.Cast<byte, TPixel>(interleaved), w, h);

    /// <summary>
    /// tEXt chunks (iTXt, UTF-8, when a value is not plain ASCII; ImageSharp picks); keywords are 1–79 printable
    /// Latin-1 characters, as PNG requires.
    /// </summary>
    private static void AddText(SharpImage image, IReadOnlyDictionary<string, string> text)
    {
        var png = image.Metadata.GetPngMetadata();
        foreach (var (key, value) in text)
        {
            if (key.Length is < 1 or > 79 || key.Any(ch => ch is < ' ' or > '\u00ff'))
                throw new ArgumentException($"PNG text keyword '{key}' must be 1–79 printable Latin-1 characters");
            png.TextData.Add(new PngTextData(key, value, "", ""));
        }
    }
}
