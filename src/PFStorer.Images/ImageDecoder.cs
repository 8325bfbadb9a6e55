using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SharpImage = SixLabors.ImageSharp.Image;

namespace PFStorer.Images;

/// <summary>
/// Files → <see cref="Image"/> through ImageSharp (docs/images.md). The header is read first (<c>Identify</c>) so that
/// the pixel limit refuses a file before any pixel memory exists; EXIF orientation is applied; the channel layout is
/// what the file holds: gray stays gray, alpha stays, 16-bit samples come back as F32 without loss.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>
    /// Only the formats we promise (PNG, JPEG, WebP, BMP, TIFF, GIF): ImageSharp's TGA and PBM readers stay off, so a
    /// file of those kinds is refused by name rather than handed to code nobody tests here. Animated GIFs and
    /// multi-page TIFFs decode their first frame only (a photo to restore, not an animation).
    /// </summary>
    internal static readonly Configuration Formats = CreateFormats();

    private static Configuration CreateFormats()
    {
        var formats = new Configuration(
            new PngConfigurationModule(), new JpegConfigurationModule(), new WebpConfigurationModule(),
            new BmpConfigurationModule(), new TiffConfigurationModule(), new GifConfigurationModule());
        formats.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        formats.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return formats;
    }

    public static (Image Image, IReadOnlyDictionary<string, string> Text) Decode(byte[] data, string source, long maxPixels)
    {
        if (data.Length == 0) throw new ImageFormatException(source, "empty file");
        IImageInfo? info;
        IImageFormat? format;
        try { info = SharpImage.Identify(Formats, data, out format); }
        catch (Exception e) when (IsDecodeFailure(e)) { throw new ImageFormatException(source, $"corrupt image header: {e.Message}", e); }
        if (info == null || format == null) throw new ImageFormatException(source, "not a PNG, JPEG, WebP, BMP, TIFF or GIF image");
        ImageFile.CheckSize(source, info.Width, info.Height, maxPixels);
        if (format is JpegFormat && !JpegStructure.HasEndAfterScan(data))
            throw new ImageFormatException(source, "truncated JPEG (no end-of-image marker after the scan data)");

        try
        {
            return format switch
            {
                PngFormat => Png(data),
                JpegFormat => Jpeg(data, info),
                _ => ByContent(data),
            };
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw new ImageFormatException(source, $"corrupt or truncated {format.Name} data: {e.Message}", e);
        }
    }

    /// <summary>
    /// What a damaged or hostile file can make a decoder throw. Out-of-memory and cancellation are not the file's fault
    /// and pass through.
    /// </summary>
    private static bool IsDecodeFailure(Exception e) => e is not (OutOfMemoryException or OperationCanceledException);

    /// <summary>PNG states its layout in IHDR (and tRNS): gray, gray+alpha, RGB, RGBA at 8 or 16 bits; palettes expand to RGB(A).</summary>
    private static (Image, IReadOnlyDictionary<string, string>) Png(byte[] data)
    {
        using var probe = SharpImage.Load<Rgba64>(Formats, data);
        var png = probe.Metadata.GetPngMetadata();
        bool gray = png.ColorType is PngColorType.Grayscale or PngColorType.GrayscaleWithAlpha;
        var text = png.TextData.GroupBy(t => t.Keyword).ToDictionary(g => g.Key, g => g.Last().Value);
        probe.Mutate(x => x.AutoOrient());
        var pixels = Pixels(probe);
        // ImageSharp reports a gray or RGB tRNS key but not a palette's alpha entries: for palettes the samples decide.
        bool alpha = png.ColorType switch
        {
            PngColorType.GrayscaleWithAlpha or PngColorType.RgbWithAlpha => true,
            PngColorType.Palette => pixels.Any(p => p.A != ushort.MaxValue),
            _ => png.HasTransparency,
        };
        return (Select(pixels, probe.Width, probe.Height, gray, alpha, wide: png.BitDepth == PngBitDepth.Bit16), text);
    }

    /// <summary>JPEG is 8-bit gray or colour (YCbCr, RGB, CMYK/YCCK converted to RGB): decoded straight to L8 or Rgb24.</summary>
    private static (Image, IReadOnlyDictionary<string, string>) Jpeg(byte[] data, IImageInfo info)
    {
        bool gray = info.Metadata.GetJpegMetadata().ColorType == JpegColorType.Luminance;
        if (gray)
        {
            using var l8 = SharpImage.Load<L8>(Formats, data);
            l8.Mutate(x => x.AutoOrient());
            return (Packed(l8, 1), Empty);
        }
        using var rgb = SharpImage.Load<Rgb24>(Formats, data);
        rgb.Mutate(x => x.AutoOrient());
        return (Packed(rgb, 3), Empty);
    }

    /// <summary>
    /// WebP, BMP, TIFF and GIF (first frame) do not state one layout across their variants, so the samples decide:
    /// gray when every pixel has R = G = B, alpha when any pixel is not opaque, F32 when any sample needs 16 bits.
    /// </summary>
    private static (Image, IReadOnlyDictionary<string, string>) ByContent(byte[] data)
    {
        using var all = SharpImage.Load<Rgba64>(Formats, data);
        all.Mutate(x => x.AutoOrient());
        var pixels = Pixels(all);
        bool gray = true, alpha = false, wide = false;
        foreach (var p in pixels)
        {
            gray &= p.R == p.G && p.G == p.B;
            alpha |= p.A != ushort.MaxValue;
            wide |= p.R % 257 != 0 || p.G % 257 != 0 || p.B % 257 != 0 || p.A % 257 != 0;
        }
        return (Select(pixels, all.Width, all.Height, gray, alpha, wide), Empty);
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static Rgba64[] Pixels(Image<Rgba64> image)
    {
        var pixels = new Rgba64[checked(image.Width * image.Height)];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    /// <summary>Picks the channels the file holds out of RGBA64; 8-bit files (every sample v·257) come back as U8 exactly.</summary>
    private static Image Select(Rgba64[] pixels, int w, int h, bool gray, bool alpha, bool wide)
    {
        int c = (gray ? 1 : 3) + (alpha ? 1 : 0);
        var samples = MemoryMarshal.Cast<Rgba64, ushort>(pixels.AsSpan());
        ReadOnlySpan<int> pick = (gray, alpha) switch
        {
            (true, false) => [0], (true, true) => [0, 3], (false, false) => [0, 1, 2], _ => [0, 1, 2, 3],
        };
        if (wide)
        {
            var f = new float[checked(pixels.Length * c)];
            for (int p = 0; p < pixels.Length; p++)
                for (int k = 0; k < c; k++) f[p * c + k] = samples[p * 4 + pick[k]] / 257f;
            return Image.FromF32(f, w, h, c);
        }
        var b = new byte[checked(pixels.Length * c)];
        for (int p = 0; p < pixels.Length; p++)
            for (int k = 0; k < c; k++) b[p * c + k] = (byte)(samples[p * 4 + pick[k]] / 257);
        return Image.FromU8(b, w, h, c);
    }

    /// <summary>L8 or Rgb24 pixels are already our interleaved 8-bit layout.</summary>
    private static Image Packed<TPixel>(Image<TPixel> image, int channels) where TPixel : unmanaged, IPixel<TPixel>
    {
        var bytes = new byte[checked(image.Width * image.Height * channels)];
        image.CopyPixelDataTo(bytes);
        return Image.FromU8(bytes, image.Width, image.Height, channels);
    }
}
