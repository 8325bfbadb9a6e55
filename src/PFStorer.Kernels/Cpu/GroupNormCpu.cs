using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// GroupNorm over x [B, C, S] (S = product of the spatial dims) in <c>groups</c> groups of C/groups channels, with
/// optional per-channel affine (empty weight/bias spans mean "absent") and an optional fused SiLU after it, as the
/// UNet/VAE "GN → SiLU" pairs use. mean and rstd [B·groups] are saved for the backward pass.
/// </summary>
public static unsafe class GroupNormCpu
{
    private const long Grain = 1 << 14; // elements per task

    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> mean, Span<float> rstd, int batch, int channels, int spatial, int groups, float eps, bool silu)
    {
        Check(x.Length, weight.Length, bias.Length, mean.Length, rstd.Length, batch, channels, spatial, groups);
        ActivationCpu.CheckSame(x.Length, y.Length, "group norm");
        int cpg = channels / groups;
        long groupSize = (long)cpg * spatial;
        bool hasW = !weight.IsEmpty, hasB = !bias.IsEmpty;
        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
        {
            float* xs = px, ws = pw, bs = pb, ys = py, ms = pm, rs = pr;
            CpuParallel.For((long)batch * groups, Math.Max(1, Grain / groupSize), (s, e) =>
            {
                var sig = silu ? new float[spatial] : null;
                for (long bg = s; bg < e; bg++)
                {
                    var block = new ReadOnlySpan<float>(xs + bg * groupSize, checked((int)groupSize));
                    double m = Moments.Sum(block) / groupSize;
                    double variance = Moments.SumSquaredDeviation(block, (float)m) / groupSize;
                    float r = Moments.Rstd(variance, eps);
                    ms[bg] = (float)m;
                    rs[bg] = r;
                    int c0 = (int)(bg % groups) * cpg;
                    for (int k = 0; k < cpg; k++)
                    {
                        int c = c0 + k;
                        float scale = r * (hasW ? ws[c] : 1f);
                        float shift = (hasB ? bs[c] : 0f) - (float)m * scale;
                        var xr = new ReadOnlySpan<float>(xs + bg * groupSize + (long)k * spatial, spatial);
                        var yr = new Span<float>(ys + bg * groupSize + (long)k * spatial, spatial);
                        ElementwiseCpu.Affine(xr, scale, shift, yr);
                        if (sig != null)
                        {
                            TensorPrimitives.Sigmoid(yr, sig);
                            TensorPrimitives.Multiply(yr, sig, yr);
                        }
                    }
                }
            });
        }
    }

    /// <summary>
    /// With x̂ = (x − mean)·rstd and g the gradient reaching the affine output (dy, or dy·SiLU′(z) when fused):
    /// dbias[c] = Σ g, dweight[c] = Σ g·x̂, dx = rstd·(g·w − mean_group(g·w) − x̂·mean_group(g·w·x̂)).
    /// Any of dx / dweight / dbias may be empty: that work is skipped.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dweight, Span<float> dbias,
        int batch, int channels, int spatial, int groups, bool silu)
    {
        Check(x.Length, weight.Length, bias.Length, mean.Length, rstd.Length, batch, channels, spatial, groups);
        ActivationCpu.CheckSame(x.Length, dy.Length, "group norm backward");
        if (!dx.IsEmpty) ActivationCpu.CheckSame(x.Length, dx.Length, "group norm backward dx");
        if (!dweight.IsEmpty) ActivationCpu.CheckSame(channels, dweight.Length, "group norm backward dweight");
        if (!dbias.IsEmpty) ActivationCpu.CheckSame(channels, dbias.Length, "group norm backward dbias");
        bool needDx = !dx.IsEmpty, needDw = !dweight.IsEmpty, needDb = !dbias.IsEmpty;
        if (!needDx && !needDw && !needDb) return;

        int cpg = channels / groups;
        long groupSize = (long)cpg * spatial;
        bool hasW = !weight.IsEmpty, hasB = !bias.IsEmpty;
        var sumG = new double[batch * channels];   // Σ_s g per (b, c)
        var sumGx = new double[batch * channels];  // Σ_s g·x̂ per (b, c)
        fixed (float* px = x, pw = weight, pb = bias, pm = mean, pr = rstd, pdy = dy, pdx = dx)
        {
            float* xs = px, ws = pw, bs = pb, ms = pm, rs = pr, dys = pdy, dxs = pdx;
            CpuParallel.For((long)batch * groups, Math.Max(1, Grain / groupSize), (s, e) =>
            {
                var xhat = new float[spatial];
                var z = silu ? new float[spatial] : null;
                var g = silu ? new float[spatial] : null;
                for (long bg = s; bg < e; bg++)
                {
                    float m = ms[bg], r = rs[bg];
                    int c0 = (int)(bg % groups) * cpg;
                    long bc0 = bg / groups * channels + c0;

                    // The gradient at the affine output of channel k, with x̂ of that channel left in `xhat`.
                    ReadOnlySpan<float> GradAt(int k)
                    {
                        int c = c0 + k;
                        long at = bg * groupSize + (long)k * spatial;
                        ElementwiseCpu.Affine(new ReadOnlySpan<float>(xs + at, spatial), r, -m * r, xhat);
                        var dyr = new ReadOnlySpan<float>(dys + at, spatial);
                        if (g == null) return dyr;
                        ElementwiseCpu.Affine(xhat, hasW ? ws[c] : 1f, hasB ? bs[c] : 0f, z);
                        TensorPrimitives.Sigmoid(z, g);
                        ActivationCpu.SiLUGradFromSigmoid(z, dyr, g);
                        return g;
                    }

                    double a = 0, b = 0; // Σ g·w and Σ g·w·x̂ over the group
                    for (int k = 0; k < cpg; k++)
                    {
                        var gk = GradAt(k);
                        double sg = TensorPrimitives.Sum(gk), sgx = TensorPrimitives.Dot(gk, xhat);
                        sumG[bc0 + k] = sg;
                        sumGx[bc0 + k] = sgx;
                        float w = hasW ? ws[c0 + k] : 1f;
                        a += w * sg;
                        b += w * sgx;
                    }
                    if (dxs == null) continue;
                    float meanGw = (float)(a / groupSize), meanGwx = (float)(b / groupSize);
                    for (int k = 0; k < cpg; k++)
                    {
                        var gk = GradAt(k);
                        var dxr = new Span<float>(dxs + bg * groupSize + (long)k * spatial, spatial);
                        ElementwiseCpu.Affine(xhat, -r * meanGwx, -r * meanGw, dxr);
                        TensorPrimitives.MultiplyAdd(gk, r * (hasW ? ws[c0 + k] : 1f), dxr, dxr);
                    }
                }
            });
        }
        for (int c = 0; c < channels; c++)
        {
            double sw = 0, sb = 0;
            for (int n = 0; n < batch; n++)
            {
                sw += sumGx[n * channels + c];
                sb += sumG[n * channels + c];
            }
            if (needDw) dweight[c] = (float)sw;
            if (needDb) dbias[c] = (float)sb;
        }
    }

    private static void Check(int xLen, int wLen, int bLen, int meanLen, int rstdLen, int batch, int channels, int spatial, int groups)
    {
        if (groups <= 0 || channels % groups != 0) throw new ArgumentException($"group norm: {channels} channels are not divisible by {groups} groups");
        if ((long)batch * channels * spatial != xLen) throw new ArgumentException($"group norm: x has {xLen} elements, not {batch}·{channels}·{spatial}");
        if (wLen != 0 && wLen != channels) throw new ArgumentException($"group norm: weight has {wLen} elements for {channels} channels");
        if (bLen != 0 && bLen != channels) throw new ArgumentException($"group norm: bias has {bLen} elements for {channels} channels");
        if (meanLen != batch * groups || rstdLen != batch * groups) throw new ArgumentException($"group norm: mean/rstd need {batch * groups} entries");
    }
}
