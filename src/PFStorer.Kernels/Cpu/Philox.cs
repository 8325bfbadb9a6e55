using System.Runtime.CompilerServices;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// The engine's counter-based noise: Philox4x32-10 (Salmon et al. 2011) feeding a Box–Muller transform.
/// Element n of a draw with (seed, stream) is a pure function of (seed, stream, n): key = seed, counter =
/// (n/4 as 64 bits, stream as 64 bits), lanes (0,1) and (2,3) of the block give the normals 4⌊n/4⌋+{0,1} and +{2,3}.
/// So any device can produce any slice of the noise independently and the CPU and CUDA streams are identical
/// (kernels/random.cu is the twin of this file: keep the two in step).
/// The Box–Muller transcendental functions are evaluated here with an explicit sequence of IEEE double operations
/// (fused multiply-adds written out, no library log/sin/cos), so both backends produce the same bits.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The Philox4x32-10 bijection of one 128-bit counter under a 64-bit key (Random123's philox4x32_10).</summary>
    public static (uint, uint, uint, uint) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0) { k0 += W0; k1 += W1; }
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Fills <paramref name="y"/> with the standard normal elements [first, first + y.Length) of the (seed, stream) sequence.</summary>
    public static void StandardNormal(Span<float> y, ulong seed, ulong stream, ulong first = 0)
    {
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        for (int i = 0; i < y.Length;)
        {
            ulong n = first + (ulong)i;
            ulong block = n >> 2;
            var (a, b, c, d) = Block((uint)block, (uint)(block >> 32), (uint)stream, (uint)(stream >> 32), k0, k1);
            BoxMuller(a, b, out float z0, out float z1);
            BoxMuller(c, d, out float z2, out float z3);
            for (int lane = (int)(n & 3); lane < 4 && i < y.Length; lane++, i++)
                y[i] = lane switch { 0 => z0, 1 => z1, 2 => z2, _ => z3 };
        }
    }

    /// <summary>Two normals from two 32-bit words: r = √(−2 ln u₁), θ = 2π u₂, (r cos θ, r sin θ); uᵢ = (wᵢ + ½)·2⁻³² ∈ (0, 1).</summary>
    public static void BoxMuller(uint w1, uint w2, out float z0, out float z1)
    {
        const double TwoPow32 = 4294967296.0;
        double u1 = (w1 + 0.5) / TwoPow32, u2 = (w2 + 0.5) / TwoPow32;
        double r = Math.Sqrt(-2.0 * Log(u1));
        SinCosTurns(u2, out double s, out double c);
        z0 = (float)(r * c);
        z1 = (float)(r * s);
    }

    /// <summary>ln u for u in (0, 1]: u = m·2^e with m ∈ [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1), series to s²³.</summary>
    internal static double Log(double u)
    {
        long bits = BitConverter.DoubleToInt64Bits(u);
        int e = (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        if (m > 1.4142135623730951) { m *= 0.5; e++; }
        double s = (m - 1.0) / (m + 1.0);
        double s2 = s * s;
        double p = AtanhCoefficients[^1];
        for (int k = AtanhCoefficients.Length - 2; k >= 0; k--) p = Math.FusedMultiplyAdd(p, s2, AtanhCoefficients[k]);
        double lnM = 2.0 * s * p;
        const double Ln2Hi = 0.6931471803691238, Ln2Lo = 1.9082149292705877e-10;
        return Math.FusedMultiplyAdd(e, Ln2Hi, Math.FusedMultiplyAdd(e, Ln2Lo, lnM));
    }

    /// <summary>sin and cos of 2π·t for t ∈ [0, 1): quadrant q = ⌊4t⌋ is exact, φ = (4t − q)·π/2 ∈ [0, π/2) by Taylor series.</summary>
    internal static void SinCosTurns(double t, out double sin, out double cos)
    {
        double f4 = 4.0 * t;
        double q = Math.Floor(f4);
        double phi = (f4 - q) * 1.5707963267948966;
        double p2 = phi * phi;
        // sin φ = φ·Σ (−φ²)^k/(2k+1)!, cos φ = Σ (−φ²)^k/(2k)!, k ≤ 11 (truncation below 1e-19 on [0, π/2)).
        double sp = SinCoefficients[^1], cp = CosCoefficients[^1];
        for (int k = SinCoefficients.Length - 2; k >= 0; k--)
        {
            sp = Math.FusedMultiplyAdd(sp, p2, SinCoefficients[k]);
            cp = Math.FusedMultiplyAdd(cp, p2, CosCoefficients[k]);
        }
        double sn = phi * sp, cs = cp;
        switch ((int)q)
        {
            case 0: sin = sn; cos = cs; break;
            case 1: sin = cs; cos = -sn; break;
            case 2: sin = -sn; cos = -cs; break;
            default: sin = -cs; cos = sn; break;
        }
    }

    // (−1)^k/(2k+1)!, (−1)^k/(2k)! and 1/(2k+1) as correctly rounded double literals; kernels/random.cu holds the same literals.
    private static readonly double[] SinCoefficients =
    [
        1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-06,
        -2.505210838544172e-08, 1.6059043836821613e-10, -7.647163731819816e-13, 2.8114572543455206e-15,
        -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23,
    ];
    private static readonly double[] CosCoefficients =
    [
        1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05, -2.755731922398589e-07,
        2.08767569878681e-09, -1.1470745597729725e-11, 4.779477332387385e-14, -1.5619206968586225e-16,
        4.110317623312165e-19, -8.896791392450574e-22,
    ];
    private static readonly double[] AtanhCoefficients =
    [
        1.0, 0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111, 0.09090909090909091,
        0.07692307692307693, 0.06666666666666667, 0.058823529411764705, 0.05263157894736842, 0.047619047619047616,
        0.043478260869565216,
    ];
}
