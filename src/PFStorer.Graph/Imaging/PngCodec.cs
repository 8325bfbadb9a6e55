using System.Runtime.InteropServices;
using System.Text;

namespace PFStorer.Graph.Imaging;

/// <summary>
/// PNG through libspng. Every colour type and bit depth decodes (palette expanded, tRNS turned into alpha);
/// 8-bit data comes back as U8, 16-bit as F32 on the 0–255 scale (v/257, exact to the 16-bit step).
/// </summary>
public static unsafe class PngCodec
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool IsPng(ReadOnlySpan<byte> data) => data.Length >= 8 && data[..8].SequenceEqual(Signature);

    public static Image Decode(ReadOnlySpan<byte> data, string source, long maxPixels = ImageFile.DefaultMaxPixels)
        => Decode(data, source, maxPixels, readText: false).Image;

    /// <summary>The tEXt/zTXt/iTXt chunks as keyword → text (later duplicates win).</summary>
    public static IReadOnlyDictionary<string, string> ReadText(ReadOnlySpan<byte> data, string source)
        => Decode(data, source, ImageFile.DefaultMaxPixels, readText: true).Text!;

    private static (Image Image, Dictionary<string, string>? Text) Decode(ReadOnlySpan<byte> data, string source, long maxPixels, bool readText)
    {
        if (data.Length == 0) throw new ImageFormatException(source, "empty file");
        if (!IsPng(data)) throw new ImageFormatException(source, "not a PNG (bad signature)");
        nint ctx = SpngNative.CtxNew(0);
        if (ctx == 0) throw new ImageFormatException(source, "libspng could not create a decoder");
        try
        {
            fixed (byte* src = data)
            {
                Check(SpngNative.SetPngBuffer(ctx, src, (nuint)data.Length), source, "reading");
                Check(SpngNative.GetIhdr(ctx, out var ihdr), source, "corrupt PNG header");
                ImageFile.CheckSize(source, (long)ihdr.Width, (long)ihdr.Height, maxPixels);
                int w = (int)ihdr.Width, h = (int)ihdr.Height;

                byte* trnsBuffer = stackalloc byte[272]; // sizeof(struct spng_trns) is 268
                bool trns = SpngNative.GetTrns(ctx, trnsBuffer) == 0;
                bool wide = ihdr.BitDepth == 16;
                (int fmt, int channels) = (ihdr.ColorType, wide, trns) switch
                {
                    (SpngNative.ColorGray, false, false) => (SpngNative.FmtG8, 1),
                    (SpngNative.ColorGray, false, true) => (SpngNative.FmtGa8, 2),
                    (SpngNative.ColorGray, true, _) => (SpngNative.FmtGa16, 2),
                    // libspng 0.7 cannot convert gray+alpha to GA8/GA16, but its own layout (host-endian) is exactly that.
                    (SpngNative.ColorGrayAlpha, _, _) => (SpngNative.FmtPng, 2),
                    (SpngNative.ColorRgb or SpngNative.ColorIndexed, false, false) => (SpngNative.FmtRgb8, 3),
                    (_, false, _) => (SpngNative.FmtRgba8, 4),
                    _ => (SpngNative.FmtRgba16, 4),
                };
                Check(SpngNative.DecodedImageSize(ctx, fmt, out nuint size), source, "sizing");
                var raw = new byte[checked((int)size)];
                fixed (byte* dst = raw)
                    Check(SpngNative.DecodeImage(ctx, dst, size, fmt, SpngNative.DecodeTrns), source, "corrupt or truncated PNG data");

                // A 16-bit gray or RGB file without tRNS got a constant alpha from the 16-bit formats: drop it.
                bool hasAlpha = ihdr.ColorType is SpngNative.ColorGrayAlpha or SpngNative.ColorRgba || trns;
                var image = wide ? Widen(raw, w, h, channels) : Image.FromU8(raw, w, h, channels);
                if (image.HasAlpha && !hasAlpha) image = image.WithoutAlpha();
                if (SpngNative.GetExif(ctx, out var exif) == 0 && exif.Data != null)
                    image = ExifOrientation.Apply(image, ExifOrientation.FromTiff(new ReadOnlySpan<byte>(exif.Data, checked((int)exif.Length))));
                return (image, readText ? Texts(ctx) : null);
            }
        }
        finally
        {
            SpngNative.CtxFree(ctx);
        }
    }

    private static Image Widen(byte[] raw, int w, int h, int channels)
    {
        var host = MemoryMarshal.Cast<byte, ushort>(raw); // libspng returns 16-bit samples host-endian
        var f = new float[w * h * channels];
        for (int i = 0; i < f.Length; i++) f[i] = host[i] / 257f;
        return Image.FromF32(f, w, h, channels);
    }

    private static Dictionary<string, string> Texts(nint ctx)
    {
        var result = new Dictionary<string, string>();
        uint n = 0;
        if (SpngNative.GetText(ctx, null, ref n) != 0 || n == 0) return result;
        var texts = new SpngNative.Text[n];
        fixed (SpngNative.Text* t = texts)
        {
            if (SpngNative.GetText(ctx, t, ref n) != 0) return result;
            for (int i = 0; i < n; i++)
            {
                string key = Marshal.PtrToStringUTF8((nint)t[i].Keyword) ?? "";
                result[key] = Encoding.UTF8.GetString(t[i].Data, checked((int)t[i].Length));
            }
        }
        return result;
    }

    /// <summary>
    /// Encodes 8-bit (U8 images, or F32 rounded) or 16-bit samples (<paramref name="sixteenBit"/>: F32 on 0–255 → v·257),
    /// gray/gray+alpha/RGB/RGBA by channel count, with tEXt chunks (Latin-1 keywords of 1–79 characters).
    /// </summary>
    public static byte[] Encode(Image image, IReadOnlyDictionary<string, string>? text = null, bool sixteenBit = false)
    {
        byte[] samples;
        if (sixteenBit)
        {
            var f = image.ToF32().F32!;
            var wide = new ushort[f.Length];
            for (int i = 0; i < f.Length; i++) wide[i] = (ushort)Math.Clamp(MathF.Round(f[i] * 257f), 0f, 65535f);
            samples = MemoryMarshal.AsBytes(wide.AsSpan()).ToArray(); // host-endian, as SPNG_FMT_PNG expects
        }
        else samples = image.Kind == PixelKind.U8 ? image.U8! : image.ToU8().U8!;

        var ihdr = new SpngNative.Ihdr
        {
            Width = (uint)image.Width,
            Height = (uint)image.Height,
            BitDepth = (byte)(sixteenBit ? 16 : 8),
            ColorType = (byte)(image.Channels switch
            {
                1 => SpngNative.ColorGray, 2 => SpngNative.ColorGrayAlpha, 3 => SpngNative.ColorRgb, _ => SpngNative.ColorRgba,
            }),
        };
        nint ctx = SpngNative.CtxNew(SpngNative.CtxEncoder);
        if (ctx == 0) throw new InvalidOperationException("libspng could not create an encoder");
        var pins = new List<GCHandle>();
        try
        {
            Check(SpngNative.SetOption(ctx, SpngNative.OptionEncodeToBuffer, 1), "<png encoder>", "option");
            Check(SpngNative.SetIhdr(ctx, ref ihdr), "<png encoder>", "header");
            if (text is { Count: > 0 }) SetTexts(ctx, text, pins);
            fixed (byte* p = samples)
                Check(SpngNative.EncodeImage(ctx, p, (nuint)samples.Length, SpngNative.FmtPng, SpngNative.EncodeFinalize), "<png encoder>", "encode");
            nint buffer = SpngNative.GetPngBuffer(ctx, out nuint size, out int error);
            Check(error, "<png encoder>", "output buffer");
            try { return new ReadOnlySpan<byte>((void*)buffer, checked((int)size)).ToArray(); }
            finally { NativeMemory.Free((void*)buffer); } // allocated with the default (libc) allocator, ours to free
        }
        finally
        {
            SpngNative.CtxFree(ctx);
            foreach (var pin in pins) pin.Free();
        }
    }

    private static void SetTexts(nint ctx, IReadOnlyDictionary<string, string> text, List<GCHandle> pins)
    {
        var chunks = new SpngNative.Text[text.Count];
        int i = 0;
        foreach (var (key, value) in text)
        {
            if (key.Length is < 1 or > 79 || key.Any(ch => ch is < ' ' or > '\u00ff'))
                throw new ArgumentException($"PNG text keyword '{key}' must be 1–79 printable Latin-1 characters");
            var keyBytes = Encoding.Latin1.GetBytes(key);
            // tEXt is Latin-1; we write UTF-8 bytes so JSON round-trips exactly through our reader.
            var data = Encoding.UTF8.GetBytes(value + "\0");
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            pins.Add(pin);
            fixed (SpngNative.Text* c = &chunks[i])
            {
                for (int k = 0; k < keyBytes.Length; k++) c->Keyword[k] = keyBytes[k];
                c->Type = SpngNative.TextPlain;
                c->Length = (nuint)(data.Length - 1);
                c->Data = (byte*)pin.AddrOfPinnedObject();
            }
            i++;
        }
        fixed (SpngNative.Text* t = chunks)
            Check(SpngNative.SetText(ctx, t, (uint)chunks.Length), "<png encoder>", "text chunks");
    }

    private static void Check(int code, string source, string what)
    {
        if (code != 0) throw new ImageFormatException(source, $"{what}: {SpngNative.Error(code)}");
    }
}
