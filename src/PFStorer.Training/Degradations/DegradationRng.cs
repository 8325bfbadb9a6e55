namespace PFStorer.Training.Degradations;

/// <summary>
/// Our own seeded generator (xoshiro256**, seeded through SplitMix64) so a degradation set regenerates bit for bit on
/// any machine and .NET version; System.Random's algorithm is an implementation detail we must not depend on.
/// Every draw is explicit here (no caching of the second Box–Muller value) so the stream position is easy to reason about.
/// </summary>
public sealed class DegradationRng
{
    private ulong _s0, _s1, _s2, _s3;

    public DegradationRng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>An independent stream for a sub-task (e.g. one image of a folder), derived from this seed and a key.</summary>
    public static DegradationRng ForItem(ulong seed, ulong item) => new(seed ^ (0x9E3779B97F4A7C15UL * (item + 1)));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Uniform integer in [0, n) without modulo bias (rejection of the short top bucket).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % (ulong)n);
    }

    /// <summary>Standard normal by Box–Muller (cosine branch only: one normal per two uniforms).</summary>
    public double Normal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>
    /// Poisson(λ): multiplication of uniforms for λ &lt; 10, Hörmann's transformed rejection (PTRS, 1993) above,
    /// both exact samplers (the normal approximation would bias dark pixels).
    /// </summary>
    public long Poisson(double lambda)
    {
        if (lambda <= 0) return 0;
        if (lambda < 10)
        {
            double limit = Math.Exp(-lambda), product = NextDouble();
            long k = 0;
            while (product > limit) { k++; product *= NextDouble(); }
            return k;
        }
        double slam = Math.Sqrt(lambda), logLam = Math.Log(lambda);
        double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        double invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
        while (true)
        {
            double u = NextDouble() - 0.5, v = NextDouble();
            double us = 0.5 - Math.Abs(u);
            long k = (long)Math.Floor((2 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= vr) return k;
            if (k < 0 || (us < 0.013 && v > us)) continue;
            if (Math.Log(v) + Math.Log(invAlpha) - Math.Log(a / (us * us) + b) <= -lambda + k * logLam - LogFactorial(k)) return k;
        }
    }

    /// <summary>ln k!: exact sum for small k, Stirling's series (error &lt; 1e-15 from k = 10) above.</summary>
    internal static double LogFactorial(long k)
    {
        if (k < 10)
        {
            double s = 0;
            for (long i = 2; i <= k; i++) s += Math.Log(i);
            return s;
        }
        double x = k + 1.0, x2 = x * x;
        return (x - 0.5) * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI)
             + 1.0 / (12 * x) - 1.0 / (360 * x * x2) + 1.0 / (1260 * x * x2 * x2) - 1.0 / (1680 * x * x2 * x2 * x2);
    }
}
