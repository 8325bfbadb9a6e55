using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Vectorised float erf (max |error| ≤ 1e-7 over the whole float range: 7.6e-8 measured over every float in [0.9, 4.5]
/// while developing; ElementwiseTests holds a dense grid over ±[0, 8] plus the edge cases) and the exact-erf GELU and
/// its derivative built on it, from published fits. Erf itself is exposed for that test; GELU shares its fits:
/// <list type="bullet">
/// <item>|a| ≤ 475/512: erf(a) = a + a·q(a²), q of degree 5 (N. Juffa's erff minimax fit, ≈ 1 ulp);</item>
/// <item>|a| &gt; 475/512: erf(a) = ±(1 − exp(p(|a|))), p of degree 7 (the same erff, ≈ 1 ulp);</item>
/// <item>the GELU of a negative input, x·Φ(x) = ½x·erfc(|x|/√2), needs erfc to a relative bound instead, which an
/// erf fit to 1 ulp of 1 cannot give (Juffa's tail is off by 5e-4 relative at x = −4): for a &lt; −475/512 it takes
/// erfc(t) = w·exp(−t² + P(w)), w = 1/(1 + t/2), P of degree 9 (Numerical Recipes' erfcc Chebyshev fit, relative
/// error &lt; 1.2e-7 for all t ≥ 0). That fit is not used for erf itself: 1 − erfc rounds to 1.1e-7 just above the split.</item>
/// </list>
/// The width follows <see cref="SgemmKernel"/>: Vector512 where AVX-512 is accelerated, else Vector256. Every lane
/// evaluates the branches its vector needs (SIMD does not diverge); a fit no lane selects is skipped.
/// </summary>
internal static class ErfVector
{
    private const float Split = 0.927734375f;
    private const float InvSqrt2 = 0.70710678f, InvSqrt2Pi = 0.39894228f;

    /// <summary>y = erf(x).</summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y) => Map<ErfOp>(x, y);

    /// <summary>y = x·Φ(x) = ½x·(1 + erf(x/√2)).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y) => Map<GeluOp>(x, y);

    /// <summary>y = GELU′(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).</summary>
    public static void GeluDerivative(ReadOnlySpan<float> x, Span<float> y) => Map<GeluDerivativeOp>(x, y);

    private interface IPointwise
    {
        static abstract Vector256<float> Apply(Vector256<float> x);
        static abstract Vector512<float> Apply(Vector512<float> x);
    }

    private readonly struct ErfOp : IPointwise
    {
        public static Vector256<float> Apply(Vector256<float> a) => Erf(a);

        public static Vector512<float> Apply(Vector512<float> a) => Erf(a);
    }

    private readonly struct GeluOp : IPointwise
    {
        public static Vector256<float> Apply(Vector256<float> x) => Vector256.Create(0.5f) * x * OnePlusErf(x * Vector256.Create(InvSqrt2));

        public static Vector512<float> Apply(Vector512<float> x) => Vector512.Create(0.5f) * x * OnePlusErf(x * Vector512.Create(InvSqrt2));
    }

    private readonly struct GeluDerivativeOp : IPointwise
    {
        public static Vector256<float> Apply(Vector256<float> x)
        {
            var density = Vector256.Create(InvSqrt2Pi) * Vector256.Exp(Vector256.Create(-0.5f) * x * x);
            return Vector256.FusedMultiplyAdd(x, density, Vector256.Create(0.5f) * OnePlusErf(x * Vector256.Create(InvSqrt2)));
        }

        public static Vector512<float> Apply(Vector512<float> x)
        {
            var density = Vector512.Create(InvSqrt2Pi) * Vector512.Exp(Vector512.Create(-0.5f) * x * x);
            return Vector512.FusedMultiplyAdd(x, density, Vector512.Create(0.5f) * OnePlusErf(x * Vector512.Create(InvSqrt2)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Erf(Vector256<float> a)
    {
        var t = Vector256.Abs(a);
        var big = Vector256.GreaterThan(t, Vector256.Create(Split));
        var small = Small(a);
        if (big == Vector256<float>.Zero) return small;
        var signed = (Vector256<float>.One - ErfcAbsolute(t)) | (a & Vector256.Create(-0f));
        return Vector256.ConditionalSelect(big, signed, small);
    }

    /// <summary>1 + erf(a), with erfc's relative precision where a &lt; −Split.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> OnePlusErf(Vector256<float> a)
    {
        var t = Vector256.Abs(a);
        var result = Vector256<float>.One + Small(a);
        var positive = Vector256.GreaterThan(a, Vector256.Create(Split));
        if (positive != Vector256<float>.Zero)
            result = Vector256.ConditionalSelect(positive, Vector256.Create(2f) - ErfcAbsolute(t), result);
        var negative = Vector256.LessThan(a, Vector256.Create(-Split));
        if (negative != Vector256<float>.Zero)
            result = Vector256.ConditionalSelect(negative, ErfcRelative(t), result);
        return result;
    }

    /// <summary>erf(a) for |a| ≤ Split; NaN propagates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Small(Vector256<float> a)
    {
        var s = a * a;
        var q = Vector256.Create(-5.96761703e-4f);
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(4.99119423e-3f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(-2.67681349e-2f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(1.12819925e-1f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(-3.76125336e-1f));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(1.28379166e-1f));
        return Vector256.FusedMultiplyAdd(q, a, a);
    }

    /// <summary>erfc(t) for t &gt; Split to ≈ 1 ulp of 1 (absolute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ErfcAbsolute(Vector256<float> t)
    {
        // erfc(12) ≈ 1e-64 is 0 in float already; the clamp keeps t² finite, so t = ∞ gives 0 rather than NaN.
        t = Vector256.Min(t, Vector256.Create(12f));
        var r = Vector256.FusedMultiplyAdd(Vector256.Create(-1.72853470e-5f), t, Vector256.Create(3.83197126e-4f));
        var u = Vector256.FusedMultiplyAdd(Vector256.Create(-3.88396438e-3f), t, Vector256.Create(2.42546219e-2f));
        r = Vector256.FusedMultiplyAdd(r, t * t, u);
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-1.06777877e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-6.34846687e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, Vector256.Create(-1.28717512e-1f));
        r = Vector256.FusedMultiplyAdd(r, t, -t);
        return Vector256.Exp(r);
    }

    /// <summary>erfc(t) for t ≥ 0 to ≈ 1e-6 relative (the float rounding of an exponent up to ~40 dominates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ErfcRelative(Vector256<float> t)
    {
        t = Vector256.Min(t, Vector256.Create(12f));
        var w = Vector256<float>.One / Vector256.FusedMultiplyAdd(Vector256.Create(0.5f), t, Vector256<float>.One);
        var r = Vector256.Create(0.17087277f);
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(-0.82215223f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(1.48851587f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(-1.13520398f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(0.27886807f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(-0.18628806f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(0.09678418f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(0.37409196f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(1.00002368f));
        r = Vector256.FusedMultiplyAdd(r, w, Vector256.Create(-1.26551223f));
        // t² = t2 + lo exactly; adding lo before t2 keeps the rounding error of t² out of the exponent.
        var t2 = t * t;
        var lo = Vector256.FusedMultiplyAdd(t, t, -t2);
        return w * Vector256.Exp((r - lo) - t2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Erf(Vector512<float> a)
    {
        var t = Vector512.Abs(a);
        var big = Vector512.GreaterThan(t, Vector512.Create(Split));
        var small = Small(a);
        if (big == Vector512<float>.Zero) return small;
        var signed = (Vector512<float>.One - ErfcAbsolute(t)) | (a & Vector512.Create(-0f));
        return Vector512.ConditionalSelect(big, signed, small);
    }

    /// <summary>1 + erf(a), with erfc's relative precision where a &lt; −Split.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> OnePlusErf(Vector512<float> a)
    {
        var t = Vector512.Abs(a);
        var result = Vector512<float>.One + Small(a);
        var positive = Vector512.GreaterThan(a, Vector512.Create(Split));
        if (positive != Vector512<float>.Zero)
            result = Vector512.ConditionalSelect(positive, Vector512.Create(2f) - ErfcAbsolute(t), result);
        var negative = Vector512.LessThan(a, Vector512.Create(-Split));
        if (negative != Vector512<float>.Zero)
            result = Vector512.ConditionalSelect(negative, ErfcRelative(t), result);
        return result;
    }

    /// <summary>erf(a) for |a| ≤ Split; NaN propagates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Small(Vector512<float> a)
    {
        var s = a * a;
        var q = Vector512.Create(-5.96761703e-4f);
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(4.99119423e-3f));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(-2.67681349e-2f));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(1.12819925e-1f));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(-3.76125336e-1f));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(1.28379166e-1f));
        return Vector512.FusedMultiplyAdd(q, a, a);
    }

    /// <summary>erfc(t) for t &gt; Split to ≈ 1 ulp of 1 (absolute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ErfcAbsolute(Vector512<float> t)
    {
        // erfc(12) ≈ 1e-64 is 0 in float already; the clamp keeps t² finite, so t = ∞ gives 0 rather than NaN.
        t = Vector512.Min(t, Vector512.Create(12f));
        var r = Vector512.FusedMultiplyAdd(Vector512.Create(-1.72853470e-5f), t, Vector512.Create(3.83197126e-4f));
        var u = Vector512.FusedMultiplyAdd(Vector512.Create(-3.88396438e-3f), t, Vector512.Create(2.42546219e-2f));
        r = Vector512.FusedMultiplyAdd(r, t * t, u);
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(-1.06777877e-1f));
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(-6.34846687e-1f));
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(-1.28717512e-1f));
        r = Vector512.FusedMultiplyAdd(r, t, -t);
        return Vector512.Exp(r);
    }

    /// <summary>erfc(t) for t ≥ 0 to ≈ 1e-6 relative (the float rounding of an exponent up to ~40 dominates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ErfcRelative(Vector512<float> t)
    {
        t = Vector512.Min(t, Vector512.Create(12f));
        var w = Vector512<float>.One / Vector512.FusedMultiplyAdd(Vector512.Create(0.5f), t, Vector512<float>.One);
        var r = Vector512.Create(0.17087277f);
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(-0.82215223f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(1.48851587f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(-1.13520398f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(0.27886807f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(-0.18628806f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(0.09678418f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(0.37409196f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(1.00002368f));
        r = Vector512.FusedMultiplyAdd(r, w, Vector512.Create(-1.26551223f));
        // t² = t2 + lo exactly; adding lo before t2 keeps the rounding error of t² out of the exponent.
        var t2 = t * t;
        var lo = Vector512.FusedMultiplyAdd(t, t, -t2);
        return w * Vector512.Exp((r - lo) - t2);
    }

    // One loop for every op: full vectors, then the tail padded into a single Vector256 (lanes past the end are zero
    // and discarded), so no scalar fallback duplicates the math.
    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IPointwise
    {
        ActivationCpu.CheckSame(x.Length, y.Length, "erf vector");
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                TOp.Apply(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            TOp.Apply(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (i < x.Length)
        {
            Span<float> pad = stackalloc float[Vector256<float>.Count];
            pad.Clear();
            x[i..].CopyTo(pad);
            TOp.Apply(Vector256.Create<float>(pad)).CopyTo(pad);
            pad[..(x.Length - i)].CopyTo(y[i..]);
        }
    }
}
