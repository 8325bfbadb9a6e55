namespace PFStorer.Kernels.Cpu;

/// <summary>The CPU references of the sampler ops (guidance, tile accumulation, the fused DDPM step); kernels/ddpm.cu holds the CUDA twins.</summary>
internal static class SamplingCpu
{
    public static void Guidance(ReadOnlySpan<float> neg, ReadOnlySpan<float> pos, float scale, Span<float> y)
    {
        CheckLengths(neg.Length, pos.Length, y.Length, "guidance");
        for (int i = 0; i < y.Length; i++) y[i] = neg[i] + scale * (pos[i] - neg[i]);
    }

    public static void AccumulateTile(ReadOnlySpan<float> tile, ReadOnlySpan<float> weight, Span<float> dst,
        ReadOnlySpan<int> tileShape, ReadOnlySpan<int> dstShape, int top, int left)
    {
        if (tileShape.Length != 4 || dstShape.Length != 4 || tileShape[0] != dstShape[0] || tileShape[1] != dstShape[1])
            throw new ArgumentException($"tile [{string.Join(',', tileShape.ToArray())}] does not fit [{string.Join(',', dstShape.ToArray())}]");
        int planes = tileShape[0] * tileShape[1], h = tileShape[2], w = tileShape[3], H = dstShape[2], W = dstShape[3];
        if (top < 0 || left < 0 || top + h > H || left + w > W || weight.Length != h * w)
            throw new ArgumentException($"tile {h}x{w} at ({top},{left}) with {weight.Length} weights outside {H}x{W}");
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < h; i++)
            {
                var src = tile.Slice((p * h + i) * w, w);
                var wt = weight.Slice(i * w, w);
                var d = dst.Slice((p * H + top + i) * W + left, w);
                for (int j = 0; j < w; j++) d[j] += src[j] * wt[j];
            }
    }

    // The float32 operation order of upstream p_mean_variance/p_sample (no fused multiply-add), so results track PyTorch.
    public static void PosteriorStep(ReadOnlySpan<float> x, ReadOnlySpan<float> eps, ReadOnlySpan<float> noise,
        PosteriorCoefficients c, Span<float> next, Span<float> x0Out, Span<float> meanOut)
    {
        CheckLengths(x.Length, eps.Length, next.Length, "posterior step");
        if (c.NoiseStd != 0 && noise.Length != x.Length) throw new ArgumentException("posterior step: noise is required when the noise std is non-zero");
        for (int i = 0; i < x.Length; i++)
        {
            float xi = x[i];
            float x0 = c.SqrtRecipAlphasCumprod * xi - c.SqrtRecipm1AlphasCumprod * eps[i];
            float mean = c.MeanCoef1 * x0 + c.MeanCoef2 * xi;
            if (!x0Out.IsEmpty) x0Out[i] = x0;
            if (!meanOut.IsEmpty) meanOut[i] = mean;
            next[i] = c.NoiseStd == 0 ? mean : mean + c.NoiseStd * noise[i];
        }
    }

    private static void CheckLengths(int a, int b, int y, string op)
    {
        if (a != y || b != y) throw new ArgumentException($"{op}: element counts {a}, {b} and {y} differ");
    }
}
