namespace PFStorer.Graph.Pipeline;

/// <summary>
/// The pixel-space resampling of StableSR's arbitrary-size script on host NCHW float planes:
/// F.interpolate(mode="bicubic", align_corners=False) — Keys cubic a = −0.75, half-pixel centres, source indices clamped
/// at the borders, no antialias — and F.pad(mode="reflect").
/// </summary>
public static class TorchResize
{
    private const double A = -0.75;

    public static float[] Bicubic(ReadOnlySpan<float> src, int planes, int h, int w, int outH, int outW)
    {
        var (iy, wy) = Taps(h, outH);
        var (ix, wx) = Taps(w, outW);
        var dst = new float[planes * outH * outW];
        var row = new double[w];
        for (int p = 0; p < planes; p++)
        {
            var plane = src.Slice(p * h * w, h * w);
            for (int oy = 0; oy < outH; oy++)
            {
                // Vertical pass first into one row, then horizontal: the separable form of torch's 4×4 tap sum.
                for (int x = 0; x < w; x++)
                {
                    double acc = 0;
                    for (int k = 0; k < 4; k++) acc += wy[oy * 4 + k] * plane[iy[oy * 4 + k] * w + x];
                    row[x] = acc;
                }
                for (int ox = 0; ox < outW; ox++)
                {
                    double acc = 0;
                    for (int k = 0; k < 4; k++) acc += wx[ox * 4 + k] * row[ix[ox * 4 + k]];
                    dst[(p * outH + oy) * outW + ox] = (float)acc;
                }
            }
        }
        return dst;
    }

    // For each output index: the 4 clamped source indices and cubic weights of torch's upsample_bicubic2d.
    private static (int[] Index, double[] Weight) Taps(int inSize, int outSize)
    {
        var idx = new int[outSize * 4];
        var wt = new double[outSize * 4];
        double scale = (double)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            double real = scale * (o + 0.5) - 0.5;
            int i0 = (int)Math.Floor(real);
            double t = real - i0;
            double[] c = [Cubic2(t + 1), Cubic1(t), Cubic1(1 - t), Cubic2(2 - t)];
            for (int k = 0; k < 4; k++)
            {
                idx[o * 4 + k] = Math.Clamp(i0 - 1 + k, 0, inSize - 1);
                wt[o * 4 + k] = c[k];
            }
        }
        return (idx, wt);
    }

    private static double Cubic1(double x) => ((A + 2) * x - (A + 3)) * x * x + 1;
    private static double Cubic2(double x) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;

    /// <summary>
    /// Index <paramref name="i"/> reflected into [0, n) without repeating the edge sample, any distance out: F.pad's
    /// "reflect", which is OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba).
    /// </summary>
    public static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i = ((i % period) + period) % period;
        return i < n ? i : period - i;
    }

    /// <summary>Reflect padding at the bottom and right (F.pad(x, (0, padW, 0, padH), "reflect")); pads must be smaller than the sides.</summary>
    public static float[] ReflectPadBottomRight(ReadOnlySpan<float> src, int planes, int h, int w, int padH, int padW)
    {
        if (padH >= h || padW >= w) throw new ArgumentException($"reflect padding ({padH},{padW}) must be smaller than the image {h}x{w}");
        int oh = h + padH, ow = w + padW;
        var dst = new float[planes * oh * ow];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < oh; y++)
            {
                int sy = y < h ? y : 2 * (h - 1) - y;
                for (int x = 0; x < ow; x++)
                {
                    int sx = x < w ? x : 2 * (w - 1) - x;
                    dst[(p * oh + y) * ow + x] = src[(p * h + sy) * w + sx];
                }
            }
        return dst;
    }
}
