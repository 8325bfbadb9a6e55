namespace PFStorer.Graph.Sampling;

public enum ColorFixMode { None, AdaIn, Wavelet }

/// <summary>
/// StableSR's colour corrections of the restored image against the LQ input (docs/sampling.md, "Colour fix"), both NCHW float in
/// [−1, 1] of the same size. They run once per image on the host (the tensors are copied to the CPU when they live
/// elsewhere); the result is a new CPU tensor owned by the caller.
/// </summary>
public static class ColorFix
{
    public static Tensor Apply(ColorFixMode mode, Tensor restored, Tensor lq) => mode switch
    {
        ColorFixMode.AdaIn => AdaIn(restored, lq),
        ColorFixMode.Wavelet => Wavelet(restored, lq),
        _ => restored.Contiguous(restored.DType, Device.Cpu),
    };

    /// <summary>
    /// adaptive_instance_normalization: per image and channel, (x − μₓ)/σₓ·σ_s + μ_s with σ = √(unbiased variance + 1e−5)
    /// (torch.var's default divides by N−1). Statistics accumulate in float64.
    /// </summary>
    public static Tensor AdaIn(Tensor restored, Tensor lq)
    {
        CheckPair(restored, lq, needRgb: false);
        var x = restored.ToFloatArray();
        var s = lq.ToFloatArray();
        int planes = restored.Dim(0) * restored.Dim(1), n = restored.Dim(2) * restored.Dim(3);
        var y = new float[x.Length];
        for (int p = 0; p < planes; p++)
        {
            var (mx, sx) = MeanStd(x.AsSpan(p * n, n));
            var (ms, ss) = MeanStd(s.AsSpan(p * n, n));
            for (int i = p * n; i < (p + 1) * n; i++) y[i] = (float)((x[i] - mx) / sx * ss + ms);
        }
        return Tensor.FromArray(y, restored.ShapeArray());
    }

    /// <summary>
    /// wavelet_reconstruction: high frequencies of the restored image plus the low frequencies of the LQ image, from a
    /// 5-level à-trous decomposition (3×3 [1,2,1]ᵀ[1,2,1]/16 kernel dilated by r = 1,2,4,8,16 with replicate padding).
    /// </summary>
    public static Tensor Wavelet(Tensor restored, Tensor lq)
    {
        CheckPair(restored, lq, needRgb: true);
        int planes = restored.Dim(0) * restored.Dim(1), h = restored.Dim(2), w = restored.Dim(3);
        var x = restored.ToFloatArray();
        var s = lq.ToFloatArray();
        var high = new float[x.Length];
        var scratch = new float[h * w];
        for (int p = 0; p < planes; p++)
        {
            var xp = x.AsSpan(p * h * w, h * w);
            var sp = s.AsSpan(p * h * w, h * w);
            var hp = high.AsSpan(p * h * w, h * w);
            // Restored image: accumulate img − blur(img) per level; LQ image: keep only its final low band.
            for (int level = 0; level < Levels; level++)
            {
                Blur(xp, scratch, h, w, 1 << level);
                for (int i = 0; i < hp.Length; i++) hp[i] += xp[i] - scratch[i];
                scratch.CopyTo(xp);
                Blur(sp, scratch, h, w, 1 << level);
                scratch.CopyTo(sp);
            }
            for (int i = 0; i < hp.Length; i++) hp[i] += sp[i];
        }
        return Tensor.FromArray(high, restored.ShapeArray());
    }

    private const int Levels = 5;

    // Depthwise 3×3 [1,2,1]⊗[1,2,1]/16 with dilation r on a replicate-padded plane (F.pad replicate + conv2d), float32.
    private static void Blur(ReadOnlySpan<float> src, Span<float> dst, int h, int w, int r)
    {
        ReadOnlySpan<float> k = [0.0625f, 0.125f, 0.0625f, 0.125f, 0.25f, 0.125f, 0.0625f, 0.125f, 0.0625f];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float acc = 0;
                for (int dy = -1; dy <= 1; dy++)
                {
                    int yy = Math.Clamp(y + dy * r, 0, h - 1);
                    for (int dx = -1; dx <= 1; dx++)
                        acc += k[(dy + 1) * 3 + dx + 1] * src[yy * w + Math.Clamp(x + dx * r, 0, w - 1)];
                }
                dst[y * w + x] = acc;
            }
    }

    private static (double Mean, double Std) MeanStd(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (float a in v) sum += a;
        double mean = sum / v.Length, ss = 0;
        foreach (float a in v) ss += (a - mean) * (a - mean);
        return (mean, Math.Sqrt(ss / Math.Max(1, v.Length - 1) + 1e-5));
    }

    private static void CheckPair(Tensor restored, Tensor lq, bool needRgb)
    {
        if (restored.Rank != 4 || !restored.Shape.SequenceEqual(lq.Shape))
            throw new ArgumentException($"colour fix needs two NCHW images of one size, got {restored.ShapeString} and {lq.ShapeString}");
        if (needRgb && restored.Dim(1) != 3)
            throw new ArgumentException($"wavelet colour fix needs 3 channels, got {restored.Dim(1)}");
    }
}
