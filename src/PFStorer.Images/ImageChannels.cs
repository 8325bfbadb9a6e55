namespace PFStorer.Images;

/// <summary>
/// Channel-layout changes a restorer needs around a model that sees RGB only: gray in and out, alpha taken off and
/// put back (docs/images.md). Results keep the sample kind of their input.
/// </summary>
public static class ImageChannels
{
    /// <summary>Gray (or gray+alpha) with the gray value copied into R, G and B; alpha kept.</summary>
    public static Image GrayToRgb(Image gray)
    {
        if (gray.ColorChannels != 1) throw new ArgumentException($"expected a gray image, got {gray.Channels} channels");
        int[] from = gray.HasAlpha ? [0, 0, 0, 1] : [0, 0, 0];
        return Pick(gray, from);
    }

    /// <summary>
    /// RGB (alpha dropped) → gray with ITU-R BT.601 luma, Y = 0.299 R + 0.587 G + 0.114 B: the weights of OpenCV's
    /// COLOR_RGB2GRAY and PIL's convert("L"), which GFPGAN and Real-ESRGAN use for their gray outputs. 8-bit results
    /// round to nearest; F32 results are not rounded.
    /// </summary>
    public static Image RgbToGray(Image rgb)
    {
        if (rgb.ColorChannels != 3) throw new ArgumentException($"expected an RGB image, got {rgb.Channels} channels");
        int n = rgb.Width * rgb.Height, c = rgb.Channels;
        var f = rgb.Kind == PixelKind.F32 ? rgb.F32! : rgb.ToF32().F32!;
        var y = new float[n];
        for (int p = 0; p < n; p++) y[p] = 0.299f * f[p * c] + 0.587f * f[p * c + 1] + 0.114f * f[p * c + 2];
        var gray = Image.FromF32(y, rgb.Width, rgb.Height, 1);
        return rgb.Kind == PixelKind.U8 ? gray.ToU8() : gray;
    }

    /// <summary>The alpha plane (0–255 scale) of an image that has one.</summary>
    public static float[] AlphaPlane(Image image)
    {
        if (!image.HasAlpha) throw new ArgumentException("the image has no alpha channel");
        int n = image.Width * image.Height, c = image.Channels;
        var f = image.Kind == PixelKind.F32 ? image.F32! : image.ToF32().F32!;
        var alpha = new float[n];
        for (int p = 0; p < n; p++) alpha[p] = f[p * c + c - 1];
        return alpha;
    }

    /// <summary><paramref name="colour"/> (1 or 3 channels) with <paramref name="alpha"/> (0–255 scale, same size) appended.</summary>
    public static Image WithAlpha(Image colour, ReadOnlySpan<float> alpha)
    {
        if (colour.HasAlpha) throw new ArgumentException("the image already has an alpha channel");
        int n = colour.Width * colour.Height, cc = colour.Channels, c = cc + 1;
        if (alpha.Length != n) throw new ArgumentException($"alpha plane has {alpha.Length} samples for {n} pixels");
        if (colour.Kind == PixelKind.U8)
        {
            var b = new byte[n * c];
            for (int p = 0; p < n; p++)
            {
                colour.U8.AsSpan(p * cc, cc).CopyTo(b.AsSpan(p * c));
                b[p * c + cc] = Image.SaturateU8(alpha[p]);
            }
            return Image.FromU8(b, colour.Width, colour.Height, c);
        }
        var f = new float[n * c];
        for (int p = 0; p < n; p++)
        {
            colour.F32.AsSpan(p * cc, cc).CopyTo(f.AsSpan(p * c));
            f[p * c + cc] = Math.Clamp(alpha[p], 0f, 255f);
        }
        return Image.FromF32(f, colour.Width, colour.Height, c);
    }

    private static Image Pick(Image src, int[] from)
    {
        int n = src.Width * src.Height, sc = src.Channels, c = from.Length;
        if (src.Kind == PixelKind.U8)
        {
            var b = new byte[n * c];
            for (int p = 0; p < n; p++) for (int k = 0; k < c; k++) b[p * c + k] = src.U8![p * sc + from[k]];
            return Image.FromU8(b, src.Width, src.Height, c);
        }
        var f = new float[n * c];
        for (int p = 0; p < n; p++) for (int k = 0; k < c; k++) f[p * c + k] = src.F32![p * sc + from[k]];
        return Image.FromF32(f, src.Width, src.Height, c);
    }
}
