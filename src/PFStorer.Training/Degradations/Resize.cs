using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>OpenCV interpolation modes we reproduce.</summary>
public enum Interpolation
{
    /// <summary>INTER_LINEAR: half-pixel centres, edge-clamped bilinear.</summary>
    Linear,
    /// <summary>INTER_CUBIC: Keys cubic with a = −0.75, replicated border.</summary>
    Cubic,
    /// <summary>INTER_AREA: exact pixel-area averaging when shrinking, a "nearest-with-blended-seams" bilinear when enlarging.</summary>
    Area,
}

/// <summary>
/// cv2.resize with OpenCV 4.x conventions. The scale used for coordinate mapping is the caller's fx/fy when given
/// (<see cref="ByFactor"/>) and dsize/ssize otherwise (<see cref="ToSize"/>): these differ whenever round(ssize·fx) ≠
/// ssize·fx, and so do the pixels. Separable: a horizontal then a vertical pass, each a list of (source, weight) taps.
/// </summary>
public static class Resize
{
    /// <summary>C's DBL_EPSILON (.NET's double.Epsilon is the smallest subnormal instead).</summary>
    private const double DblEpsilon = 2.220446049250313e-16;

    /// <summary>cv2.resize(src, (w, h), interpolation): scale = w/ssize.</summary>
    public static Image ToSize(Image src, int width, int height, Interpolation mode)
        => Run(src, width, height, (double)width / src.Width, (double)height / src.Height, mode);

    /// <summary>cv2.resize(src, (0, 0), fx=fx, fy=fy, interpolation): dsize = round(ssize·f), mapping uses f itself.</summary>
    public static Image ByFactor(Image src, double fx, double fy, Interpolation mode)
    {
        int w = (int)Math.Round(src.Width * fx, MidpointRounding.ToEven), h = (int)Math.Round(src.Height * fy, MidpointRounding.ToEven);
        return Run(src, w, h, fx, fy, mode);
    }

    private static Image Run(Image src, int dw, int dh, double invScaleX, double invScaleY, Interpolation mode)
    {
        if (dw <= 0 || dh <= 0) throw new ArgumentException($"resize of {src.Width}x{src.Height} to {dw}x{dh}: empty destination");
        if (dw == src.Width && dh == src.Height) return src.Kind == PixelKind.U8 ? src.ToU8() : src.ToF32(); // OpenCV copies
        double scaleX = 1 / invScaleX, scaleY = 1 / invScaleY;
        int iscaleX = (int)Math.Round(scaleX), iscaleY = (int)Math.Round(scaleY);
        bool integerScale = Math.Abs(scaleX - iscaleX) < DblEpsilon && Math.Abs(scaleY - iscaleY) < DblEpsilon;
        // OpenCV turns an exact 2× bilinear shrink into area averaging (identical for linear, and faster).
        if (mode == Interpolation.Linear && integerScale && iscaleX == 2 && iscaleY == 2) mode = Interpolation.Area;

        Tap[][] tx, ty;
        if (mode == Interpolation.Area && scaleX >= 1 && scaleY >= 1)
        {
            tx = AreaTaps(src.Width, dw, scaleX);
            ty = AreaTaps(src.Height, dh, scaleY);
        }
        else
        {
            tx = InterpolationTaps(src.Width, dw, scaleX, invScaleX, mode);
            ty = InterpolationTaps(src.Height, dh, scaleY, invScaleY, mode);
        }
        return Filtering.Like(src, Apply(Filtering.Samples(src), src.Width, src.Height, src.Channels, tx, ty), dw, dh);
    }

    private readonly record struct Tap(int Index, float Weight);

    private static float[] Apply(float[] s, int sw, int sh, int c, Tap[][] tx, Tap[][] ty)
    {
        int dw = tx.Length, dh = ty.Length;
        var horizontal = new float[sh * dw * c];
        for (int y = 0; y < sh; y++)
        for (int x = 0; x < dw; x++)
        for (int ch = 0; ch < c; ch++)
        {
            float sum = 0;
            foreach (var t in tx[x]) sum += t.Weight * s[(y * sw + t.Index) * c + ch];
            horizontal[(y * dw + x) * c + ch] = sum;
        }
        var dst = new float[dh * dw * c];
        int row = dw * c;
        for (int y = 0; y < dh; y++)
        {
            var acc = dst.AsSpan(y * row, row);
            foreach (var t in ty[y]) Filtering.MultiplyAdd(acc, horizontal.AsSpan(t.Index * row, row), t.Weight);
        }
        return dst;
    }

    /// <summary>
    /// OpenCV computeResizeAreaTab: destination cell [d·scale, (d+1)·scale) covers whole source pixels with weight
    /// 1/cell and the partial pixels at both ends with their covered fraction (slivers under 1e-3 ignored).
    /// </summary>
    private static Tap[][] AreaTaps(int ssize, int dsize, double scale)
    {
        var taps = new Tap[dsize][];
        var list = new List<Tap>();
        for (int d = 0; d < dsize; d++)
        {
            list.Clear();
            double f1 = d * scale, f2 = f1 + scale;
            double cell = Math.Min(scale, ssize - f1);
            int s1 = (int)Math.Ceiling(f1), s2 = (int)Math.Floor(f2);
            s2 = Math.Min(s2, ssize - 1);
            s1 = Math.Min(s1, s2);
            if (s1 - f1 > 1e-3) list.Add(new(s1 - 1, (float)((s1 - f1) / cell)));
            for (int s = s1; s < s2; s++) list.Add(new(s, (float)(1.0 / cell)));
            if (f2 - s2 > 1e-3) list.Add(new(s2, (float)(Math.Min(Math.Min(f2 - s2, 1.0), cell) / cell)));
            taps[d] = [.. list];
        }
        return taps;
    }

    /// <summary>
    /// The generic OpenCV path: the source coordinate of destination d is (d+0.5)·scale − 0.5 computed in float32
    /// (area mode when enlarging: floor(d·scale) with fraction (d+1) − (s+1)/scale, clamped at 0). Linear and area clamp
    /// the sample position to the image; cubic keeps it and replicates the border taps.
    /// </summary>
    private static Tap[][] InterpolationTaps(int ssize, int dsize, double scale, double invScale, Interpolation mode)
    {
        var taps = new Tap[dsize][];
        for (int d = 0; d < dsize; d++)
        {
            int s;
            float f;
            if (mode == Interpolation.Area)
            {
                s = (int)Math.Floor(d * scale);
                f = (float)(d + 1 - (s + 1) * invScale);
                f = f <= 0 ? 0f : f - MathF.Floor(f);
            }
            else
            {
                f = (float)((d + 0.5) * scale - 0.5);
                s = (int)MathF.Floor(f);
                f -= s;
            }
            if (mode == Interpolation.Cubic)
            {
                var w = CubicWeights(f);
                taps[d] = [new(Math.Clamp(s - 1, 0, ssize - 1), w.W0), new(Math.Clamp(s, 0, ssize - 1), w.W1),
                           new(Math.Clamp(s + 1, 0, ssize - 1), w.W2), new(Math.Clamp(s + 2, 0, ssize - 1), w.W3)];
                continue;
            }
            if (s < 0) (s, f) = (0, 0f);
            if (s >= ssize - 1) (s, f) = (ssize - 1, 0f);
            taps[d] = [new(s, 1f - f), new(Math.Min(s + 1, ssize - 1), f)];
        }
        return taps;
    }

    /// <summary>OpenCV interpolateCubic: Keys' kernel with A = −0.75, the last weight taken as 1 − the others (float32).</summary>
    private static (float W0, float W1, float W2, float W3) CubicWeights(float x)
    {
        const float a = -0.75f;
        float w0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
        float w1 = ((a + 2) * x - (a + 3)) * x * x + 1;
        float w2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
        return (w0, w1, w2, 1f - w0 - w1 - w2);
    }
}
