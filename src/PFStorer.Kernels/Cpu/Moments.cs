using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>Two-pass statistics for the norms: the mean first, then Σ(x − mean)², which does not cancel when |mean| ≫ std.</summary>
internal static class Moments
{
    /// <summary>
    /// Σx accumulated in double: exact for up to 2²⁹ equal values, so a spatially constant group (the time-aware encoder's
    /// first layers on the all-zero null latent of L_Gen) gets its mean exactly and normalises to exact zeros, as in float64.
    /// </summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        Vector256<double> accLo = Vector256<double>.Zero, accHi = Vector256<double>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref rx, (nuint)i));
            accLo += lo;
            accHi += hi;
        }
        var acc = accLo + accHi;
        double s = Vector256.Sum(acc);
        for (; i < x.Length; i++) s += x[i];
        return s;
    }

    public static double SumSquaredDeviation(ReadOnlySpan<float> x, float mean)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        var vm = Vector256.Create(mean);
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var d = Vector256.LoadUnsafe(ref rx, (nuint)i) - vm;
            acc += d * d;
        }
        double s = Vector256.Sum(acc);
        for (; i < x.Length; i++)
        {
            double d = x[i] - mean;
            s += d * d;
        }
        return s;
    }

    /// <summary>1/√(var + eps) in double, stored as f32 like PyTorch's rstd.</summary>
    public static float Rstd(double variance, float eps) => (float)(1.0 / Math.Sqrt(variance + eps));
}
