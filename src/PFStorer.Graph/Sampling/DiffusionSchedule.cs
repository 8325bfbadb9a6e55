namespace PFStorer.Graph.Sampling;

/// <summary>
/// The DDPM noise schedule as LDM's <c>register_schedule</c> holds it: one value per (respaced) step for every
/// array the sampler and q_sample index. <see cref="Timesteps"/>[k] is the original step (0..999) that respaced
/// index k stands for; the UNet and the time-aware encoder receive that original step, while the coefficient
/// arrays are indexed by k (docs/sampling.md).
/// The sampler uses <see cref="UpstreamFloat32"/>, the float32 path the upstream scripts actually run, whose values are
/// what the official sampler multiplies with; <see cref="Linear"/> is the float64 1000-step schedule it starts from.
/// </summary>
public sealed class DiffusionSchedule
{
    public const int TrainSteps = 1000;
    public const double LinearStart = 0.00085, LinearEnd = 0.012;

    public required long[] Timesteps { get; init; }
    public required double[] Betas { get; init; }
    public required double[] Alphas { get; init; }
    public required double[] AlphasCumprod { get; init; }
    public required double[] AlphasCumprodPrev { get; init; }
    public required double[] SqrtAlphasCumprod { get; init; }
    public required double[] SqrtOneMinusAlphasCumprod { get; init; }
    public required double[] LogOneMinusAlphasCumprod { get; init; }
    public required double[] SqrtRecipAlphasCumprod { get; init; }
    public required double[] SqrtRecipm1AlphasCumprod { get; init; }
    public required double[] PosteriorVariance { get; init; }
    public required double[] PosteriorLogVarianceClipped { get; init; }
    public required double[] PosteriorMeanCoef1 { get; init; }
    public required double[] PosteriorMeanCoef2 { get; init; }

    public int Steps => Betas.Length;

    /// <summary>The coefficients of one reverse step at respaced index k, in the precision the schedule holds.</summary>
    public Kernels.PosteriorCoefficients Coefficients(int k) => new(
        (float)SqrtRecipAlphasCumprod[k], (float)SqrtRecipm1AlphasCumprod[k],
        (float)PosteriorMeanCoef1[k], (float)PosteriorMeanCoef2[k],
        // exp(0.5·logvar) is evaluated in float32 upstream (a float32 buffer through torch.exp); k = 0 adds no noise.
        k == 0 ? 0f : MathF.Exp(0.5f * (float)PosteriorLogVarianceClipped[k]));

    /// <summary>make_beta_schedule("linear"): torch.linspace(√start, √end, n, float64)², all arrays in float64.</summary>
    public static DiffusionSchedule Linear(int steps = TrainSteps, double linearStart = LinearStart, double linearEnd = LinearEnd)
    {
        var betas = TorchLinspace(Math.Sqrt(linearStart), Math.Sqrt(linearEnd), steps);
        for (int i = 0; i < steps; i++) betas[i] *= betas[i];
        return FromBetas(betas, Identity(steps));
    }

    /// <summary>
    /// Every array exactly as the upstream DDPM scripts hold it (float32 values). <paramref name="steps"/> = 1000 is the
    /// checkpoint's own buffers (float64 math cast to float32); fewer steps follow the script: new betas from the float32
    /// ᾱ buffer in float32 arithmetic, then register_schedule's numpy on float32 betas, where alphas_cumprod_prev is
    /// promoted to float64 by np.append (so the variance and mean coefficients are float64 math on mixed inputs).
    /// The full 1000-step schedule is kept as it is when steps = 1000 (the checkpoint's buffers, no respacing).
    /// </summary>
    public static DiffusionSchedule UpstreamFloat32(int steps)
    {
        var full = Linear();
        var fullF32 = Array.ConvertAll(full.AlphasCumprod, v => (float)v);
        if (steps == TrainSteps) return RoundToFloat32(full);

        var kept = SpaceTimesteps(TrainSteps, steps);
        var betas = new float[kept.Length];
        float last = 1f;
        for (int k = 0; k < kept.Length; k++)
        {
            float ac = fullF32[kept[k]];
            betas[k] = 1f - ac / last;
            last = ac;
        }
        return FromFloat32Betas(betas, kept);
    }

    /// <summary>
    /// space_timesteps(num, [count]) for one section, as upstream: stride (num−1)/(count−1) accumulated in float64 and
    /// rounded with Python's round (half to even). Returned sorted.
    /// </summary>
    public static long[] SpaceTimesteps(int numTimesteps, int count)
    {
        if (count < 1 || count > numTimesteps)
            throw new ArgumentOutOfRangeException(nameof(count), $"cannot take {count} steps out of {numTimesteps}");
        double stride = count <= 1 ? 1 : (numTimesteps - 1) / (double)(count - 1);
        var taken = new SortedSet<long>();
        double cur = 0;
        for (int i = 0; i < count; i++)
        {
            taken.Add((long)Math.Round(cur, MidpointRounding.ToEven));
            cur += stride;
        }
        return [.. taken];
    }

    // torch.linspace on CPU fills the first half forward from start and the second half backward from end,
    // so the float64 values (and their float32 casts) match upstream bit for bit.
    private static double[] TorchLinspace(double start, double end, int n)
    {
        var r = new double[n];
        if (n == 1) { r[0] = start; return r; }
        double step = (end - start) / (n - 1);
        int half = n / 2;
        for (int i = 0; i < n; i++) r[i] = i < half ? start + step * i : end - step * (n - 1 - i);
        return r;
    }

    private static long[] Identity(int n)
    {
        var t = new long[n];
        for (int i = 0; i < n; i++) t[i] = i;
        return t;
    }

    private static DiffusionSchedule FromBetas(double[] betas, long[] timesteps)
    {
        int n = betas.Length;
        var alphas = new double[n];
        var ac = new double[n];
        var acPrev = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++)
        {
            alphas[i] = 1.0 - betas[i];
            acPrev[i] = prod;
            prod *= alphas[i];
            ac[i] = prod;
        }
        double[] Map(Func<int, double> f) { var a = new double[n]; for (int i = 0; i < n; i++) a[i] = f(i); return a; }
        var variance = Map(i => betas[i] * (1.0 - acPrev[i]) / (1.0 - ac[i]));
        return new DiffusionSchedule
        {
            Timesteps = timesteps,
            Betas = betas,
            Alphas = alphas,
            AlphasCumprod = ac,
            AlphasCumprodPrev = acPrev,
            SqrtAlphasCumprod = Map(i => Math.Sqrt(ac[i])),
            SqrtOneMinusAlphasCumprod = Map(i => Math.Sqrt(1.0 - ac[i])),
            LogOneMinusAlphasCumprod = Map(i => Math.Log(1.0 - ac[i])),
            SqrtRecipAlphasCumprod = Map(i => Math.Sqrt(1.0 / ac[i])),
            SqrtRecipm1AlphasCumprod = Map(i => Math.Sqrt(1.0 / ac[i] - 1.0)),
            PosteriorVariance = variance,
            PosteriorLogVarianceClipped = Map(i => Math.Log(Math.Max(variance[i], 1e-20))),
            PosteriorMeanCoef1 = Map(i => betas[i] * Math.Sqrt(acPrev[i]) / (1.0 - ac[i])),
            PosteriorMeanCoef2 = Map(i => (1.0 - acPrev[i]) * Math.Sqrt(alphas[i]) / (1.0 - ac[i])),
        };
    }

    // register_schedule's numpy expressions with float32 betas, op by op in numpy's (pre-NEP 50) promotion:
    // a Python float scalar keeps float32 arrays float32; alphas_cumprod_prev is float64 after np.append(1., …).
    private static DiffusionSchedule FromFloat32Betas(float[] betas, long[] timesteps)
    {
        int n = betas.Length;
        var alphas = new float[n];
        var ac = new float[n];
        var acPrev = new double[n];
        float prod = 1f;
        for (int i = 0; i < n; i++)
        {
            alphas[i] = 1f - betas[i];
            acPrev[i] = i == 0 ? 1.0 : ac[i - 1];
            prod = i == 0 ? alphas[0] : prod * alphas[i];   // np.cumprod in float32, sequential
            ac[i] = prod;
        }
        double[] Map(Func<int, double> f) { var a = new double[n]; for (int i = 0; i < n; i++) a[i] = (float)f(i); return a; }
        var varianceF64 = new double[n];
        for (int i = 0; i < n; i++) varianceF64[i] = (double)betas[i] * (1.0 - acPrev[i]) / (1f - ac[i]);
        return new DiffusionSchedule
        {
            Timesteps = timesteps,
            Betas = Map(i => betas[i]),
            Alphas = Map(i => alphas[i]),
            AlphasCumprod = Map(i => ac[i]),
            AlphasCumprodPrev = Map(i => acPrev[i]),
            SqrtAlphasCumprod = Map(i => MathF.Sqrt(ac[i])),
            SqrtOneMinusAlphasCumprod = Map(i => MathF.Sqrt(1f - ac[i])),
            LogOneMinusAlphasCumprod = Map(i => NumpyLogF(1f - ac[i])),
            SqrtRecipAlphasCumprod = Map(i => MathF.Sqrt(1f / ac[i])),
            SqrtRecipm1AlphasCumprod = Map(i => MathF.Sqrt(1f / ac[i] - 1f)),
            PosteriorVariance = Map(i => varianceF64[i]),
            PosteriorLogVarianceClipped = Map(i => Math.Log(Math.Max(varianceF64[i], 1e-20))),
            PosteriorMeanCoef1 = Map(i => betas[i] * Math.Sqrt(acPrev[i]) / (1f - ac[i])),
            PosteriorMeanCoef2 = Map(i => (1.0 - acPrev[i]) * MathF.Sqrt(alphas[i]) / (1f - ac[i])),
        };
    }

    /// <summary>
    /// numpy's float32 log on x86 with AVX2/AVX512F (simd_log_FLOAT, ≤ 3.83 ulp, not correctly rounded): x = m·2^e with
    /// m ∈ (√½, √2], ln x = P(m−1)/Q(m−1) + e·ln 2, minimax rationals of degree 5 in float32 with fused multiply-adds.
    /// Only this path reproduces upstream's log_one_minus_alphas_cumprod buffer bit for bit. Positive normal inputs only.
    /// </summary>
    private static float NumpyLogF(float x)
    {
        ReadOnlySpan<float> p = [0f, 9.999999999999998702752e-01f, 2.112677543073053063722e+00f, 1.480000633576506585156e+00f,
            3.808837741388407920751e-01f, 2.589979117907922693523e-02f];
        ReadOnlySpan<float> q = [1f, 2.612677543073109236779e+00f, 2.453006071784736363091e+00f, 9.864942958519418960339e-01f,
            1.546476374983906719538e-01f, 5.875095403124574342950e-03f];
        int bits = BitConverter.SingleToInt32Bits(x);
        float exponent = ((bits >> 23) & 0xFF) - 126;                                     // getexp + 1
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F000000);      // getmant in [0.5, 1)
        if (m <= 0.707106781186547524400844362104849039f) { m += m; exponent -= 1f; }
        m -= 1f;
        float num = MathF.FusedMultiplyAdd(p[5], m, p[4]), den = MathF.FusedMultiplyAdd(q[5], m, q[4]);
        for (int k = 3; k >= 0; k--)
        {
            num = MathF.FusedMultiplyAdd(num, m, p[k]);
            den = MathF.FusedMultiplyAdd(den, m, q[k]);
        }
        return MathF.FusedMultiplyAdd(exponent, 0.693147180559945309417232121458176568f, num / den);
    }

    private static DiffusionSchedule RoundToFloat32(DiffusionSchedule s)
    {
        static double[] R(double[] a) => Array.ConvertAll(a, v => (double)(float)v);
        return new DiffusionSchedule
        {
            Timesteps = s.Timesteps,
            Betas = R(s.Betas),
            Alphas = R(s.Alphas),
            AlphasCumprod = R(s.AlphasCumprod),
            AlphasCumprodPrev = R(s.AlphasCumprodPrev),
            SqrtAlphasCumprod = R(s.SqrtAlphasCumprod),
            SqrtOneMinusAlphasCumprod = R(s.SqrtOneMinusAlphasCumprod),
            LogOneMinusAlphasCumprod = R(s.LogOneMinusAlphasCumprod),
            SqrtRecipAlphasCumprod = R(s.SqrtRecipAlphasCumprod),
            SqrtRecipm1AlphasCumprod = R(s.SqrtRecipm1AlphasCumprod),
            PosteriorVariance = R(s.PosteriorVariance),
            PosteriorLogVarianceClipped = R(s.PosteriorLogVarianceClipped),
            PosteriorMeanCoef1 = R(s.PosteriorMeanCoef1),
            PosteriorMeanCoef2 = R(s.PosteriorMeanCoef2),
        };
    }
}
