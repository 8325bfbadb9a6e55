namespace PFStorer.Images;

/// <summary>How an <see cref="Image"/> stores its samples.</summary>
public enum PixelKind
{
    /// <summary>8-bit samples, 0–255.</summary>
    U8,
    /// <summary>32-bit float samples on the 0–255 scale (16-bit files decode here, losslessly: v/257).</summary>
    F32,
}

/// <summary>
/// A host image: interleaved HWC samples, 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.
/// Alpha is carried along so a restorer can put it back; colour ops use <see cref="ColorChannels"/>.
/// Exactly one of <see cref="U8"/> / <see cref="F32"/> is non-null, matching <see cref="Kind"/>.
/// </summary>
public sealed class Image
{
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public PixelKind Kind { get; }
    public byte[]? U8 { get; }
    public float[]? F32 { get; }

    private Image(int width, int height, int channels, PixelKind kind, byte[]? u8, float[]? f32)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}x{height} must be positive");
        if (channels is < 1 or > 4) throw new ArgumentException($"channel count {channels} must be 1..4");
        long n = (long)width * height * channels;
        long have = u8?.LongLength ?? f32!.LongLength;
        if (have != n) throw new ArgumentException($"{width}x{height}x{channels} needs {n} samples, got {have}");
        (Width, Height, Channels, Kind, U8, F32) = (width, height, channels, kind, u8, f32);
    }

    public static Image FromU8(byte[] data, int width, int height, int channels) => new(width, height, channels, PixelKind.U8, data, null);
    public static Image FromF32(float[] data, int width, int height, int channels) => new(width, height, channels, PixelKind.F32, null, data);
    public static Image NewU8(int width, int height, int channels) => FromU8(new byte[checked(width * height * channels)], width, height, channels);
    public static Image NewF32(int width, int height, int channels) => FromF32(new float[checked(width * height * channels)], width, height, channels);

    public bool HasAlpha => Channels is 2 or 4;
    /// <summary>Channels that carry colour (alpha excluded).</summary>
    public int ColorChannels => HasAlpha ? Channels - 1 : Channels;
    public int Length => Width * Height * Channels;

    /// <summary>Float copy on the 0–255 scale (a copy even when already F32, so callers may mutate it).</summary>
    public Image ToF32()
    {
        if (Kind == PixelKind.F32) return FromF32((float[])F32!.Clone(), Width, Height, Channels);
        var f = new float[Length];
        for (int i = 0; i < f.Length; i++) f[i] = U8![i];
        return FromF32(f, Width, Height, Channels);
    }

    /// <summary>8-bit copy: round half away from zero and saturate, as OpenCV's saturate_cast&lt;uchar&gt;(float).</summary>
    public Image ToU8()
    {
        if (Kind == PixelKind.U8) return FromU8((byte[])U8!.Clone(), Width, Height, Channels);
        var b = new byte[Length];
        for (int i = 0; i < b.Length; i++) b[i] = SaturateU8(F32![i]);
        return FromU8(b, Width, Height, Channels);
    }

    public static byte SaturateU8(float v)
    {
        // OpenCV's cvRound is lrint: round half to even. NaN goes to 0 rather than being undefined.
        if (!(v > 0f)) return 0;
        if (v >= 255f) return 255;
        return (byte)MathF.Round(v, MidpointRounding.ToEven);
    }

    /// <summary>A copy with the alpha channel removed (or the same samples copied when there is none).</summary>
    public Image WithoutAlpha()
    {
        int c = ColorChannels;
        int n = Width * Height;
        if (Kind == PixelKind.U8)
        {
            var dst = new byte[n * c];
            for (int p = 0; p < n; p++) for (int k = 0; k < c; k++) dst[p * c + k] = U8![p * Channels + k];
            return FromU8(dst, Width, Height, c);
        }
        var f = new float[n * c];
        for (int p = 0; p < n; p++) for (int k = 0; k < c; k++) f[p * c + k] = F32![p * Channels + k];
        return FromF32(f, Width, Height, c);
    }

    public override string ToString() => $"Image {Width}x{Height}x{Channels} {Kind}";
}
