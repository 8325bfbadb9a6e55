namespace PFStorer.Graph.Imaging;

/// <summary>JPEG through TurboJPEG: gray, YCbCr/RGB and CMYK/YCCK decode; gray or RGB encode at a quality.</summary>
public static unsafe class JpegCodec
{
    public static bool IsJpeg(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>Decodes to 8-bit gray (1 channel) or RGB (3 channels), EXIF orientation applied.</summary>
    public static Image Decode(ReadOnlySpan<byte> data, string source, long maxPixels = ImageFile.DefaultMaxPixels)
    {
        if (data.Length == 0) throw new ImageFormatException(source, "empty file");
        if (!IsJpeg(data)) throw new ImageFormatException(source, "not a JPEG (no SOI marker)");
        nint tj = TurboJpegNative.InitDecompress();
        if (tj == 0) throw new ImageFormatException(source, "TurboJPEG could not create a decompressor");
        try
        {
            fixed (byte* src = data)
            {
                if (TurboJpegNative.DecompressHeader3(tj, src, (nuint)data.Length, out int w, out int h, out _, out int colorspace) != 0)
                    throw new ImageFormatException(source, $"corrupt JPEG header: {TurboJpegNative.LastError(tj)}");
                ImageFile.CheckSize(source, w, h, maxPixels);
                bool cmyk = colorspace is TurboJpegNative.ColorspaceCmyk or TurboJpegNative.ColorspaceYcck;
                int channels = colorspace == TurboJpegNative.ColorspaceGray ? 1 : cmyk ? 4 : 3;
                int format = channels switch { 1 => TurboJpegNative.PixelGray, 3 => TurboJpegNative.PixelRgb, _ => TurboJpegNative.PixelCmyk };
                var pixels = new byte[checked(w * h * channels)];
                fixed (byte* dst = pixels)
                {
                    if (TurboJpegNative.Decompress2(tj, src, (nuint)data.Length, dst, w, w * channels, h, format, TurboJpegNative.FlagStopOnWarning) != 0)
                        throw new ImageFormatException(source, $"corrupt or truncated JPEG data: {TurboJpegNative.LastError(tj)}");
                }
                var image = cmyk ? CmykToRgb(pixels, w, h) : Image.FromU8(pixels, w, h, channels);
                return ExifOrientation.Apply(image, ExifOrientation.FromJpeg(data));
            }
        }
        finally
        {
            TurboJpegNative.Destroy(tj);
        }
    }

    /// <summary>
    /// CMYK JPEGs in the wild are written by Adobe software with inverted samples (APP14), which libjpeg returns as
    /// stored; so the stored value is already "amount of light" and R = C·K/255 (the same conversion OpenCV applies).
    /// </summary>
    private static Image CmykToRgb(byte[] cmyk, int w, int h)
    {
        var rgb = new byte[w * h * 3];
        for (int p = 0; p < w * h; p++)
        {
            int k = cmyk[p * 4 + 3];
            for (int ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = (byte)((cmyk[p * 4 + ch] * k + 127) / 255);
        }
        return Image.FromU8(rgb, w, h, 3);
    }

    /// <summary>
    /// Encodes gray (1 channel) or colour (3 channels; alpha dropped) at quality 1..100 with 4:2:0 chroma subsampling,
    /// libjpeg's defaults that OpenCV's imencode also uses. <paramref name="cmyk"/> writes 4-channel samples as CMYK.
    /// </summary>
    public static byte[] Encode(Image image, int quality, bool cmyk = false)
    {
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality must be 1..100");
        var src = image.Kind == PixelKind.U8 ? image : image.ToU8();
        if (!cmyk && src.HasAlpha) src = src.WithoutAlpha();
        if (cmyk && src.Channels != 4) throw new ArgumentException("CMYK encode needs 4 channels", nameof(image));
        int format = cmyk ? TurboJpegNative.PixelCmyk : src.Channels == 1 ? TurboJpegNative.PixelGray : TurboJpegNative.PixelRgb;
        int subsamp = src.Channels == 1 ? TurboJpegNative.SubsampGray : TurboJpegNative.Subsamp420;
        nint tj = TurboJpegNative.InitCompress();
        if (tj == 0) throw new InvalidOperationException("TurboJPEG could not create a compressor");
        nint jpeg = 0;
        nuint size = 0;
        try
        {
            fixed (byte* p = src.U8)
            {
                if (TurboJpegNative.Compress2(tj, p, src.Width, src.Width * src.Channels, src.Height, format, ref jpeg, ref size, subsamp, quality, 0) != 0)
                    throw new InvalidOperationException($"JPEG encode failed: {TurboJpegNative.LastError(tj)}");
            }
            return new ReadOnlySpan<byte>((void*)jpeg, checked((int)size)).ToArray();
        }
        finally
        {
            if (jpeg != 0) TurboJpegNative.Free(jpeg);
            TurboJpegNative.Destroy(tj);
        }
    }
}
