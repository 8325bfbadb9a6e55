using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// The register-blocked micro-kernels of <see cref="Sgemm"/>: an MR×NR block of C held in twelve vector accumulators
/// (two per row), fed per depth step by two loads of packed B and six broadcasts of packed A. Twelve independent FMA
/// chains cover the FMA latency × throughput of current x86 cores, and 12 + 2 + 1 registers fit the 16 ymm registers
/// of AVX2 without spilling. Two widths share that shape: 6×16 with Vector256 (AVX2+FMA, or any SIMD the JIT maps it
/// to) and 6×32 with Vector512 where AVX-512 is accelerated, which doubles the work per instruction.
/// </summary>
internal static unsafe class SgemmKernel
{
    public const int MR = 6, NarrowNR = 16, WideNR = 32;

    /// <summary>The 6×32 kernel is the default wherever 512-bit vectors are hardware accelerated.</summary>
    public static bool WideByDefault => Vector512.IsHardwareAccelerated;

    /// <summary>C[0..6, 0..16] (row stride ldc) = alpha·Σ_p a[p]⊗b[p] (+ C when accumulate); b panels are 16 wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run16(int kc, float* a, float* b, float* c, long ldc, float alpha, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NarrowNR)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
        }
        var s = Vector256.Create(alpha);
        Store(c, s, c00, c01, accumulate);
        Store(c + ldc, s, c10, c11, accumulate);
        Store(c + 2 * ldc, s, c20, c21, accumulate);
        Store(c + 3 * ldc, s, c30, c31, accumulate);
        Store(c + 4 * ldc, s, c40, c41, accumulate);
        Store(c + 5 * ldc, s, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* row, Vector256<float> alpha, Vector256<float> lo, Vector256<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            Vector256.FusedMultiplyAdd(alpha, lo, Vector256.Load(row)).Store(row);
            Vector256.FusedMultiplyAdd(alpha, hi, Vector256.Load(row + 8)).Store(row + 8);
        }
        else
        {
            (alpha * lo).Store(row);
            (alpha * hi).Store(row + 8);
        }
    }

    /// <summary>C[0..6, 0..32] = alpha·Σ_p a[p]⊗b[p] (+ C when accumulate); b panels are 32 wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run32(int kc, float* a, float* b, float* c, long ldc, float alpha, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += MR, b += WideNR)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
        }
        var s = Vector512.Create(alpha);
        Store(c, s, c00, c01, accumulate);
        Store(c + ldc, s, c10, c11, accumulate);
        Store(c + 2 * ldc, s, c20, c21, accumulate);
        Store(c + 3 * ldc, s, c30, c31, accumulate);
        Store(c + 4 * ldc, s, c40, c41, accumulate);
        Store(c + 5 * ldc, s, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* row, Vector512<float> alpha, Vector512<float> lo, Vector512<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            Vector512.FusedMultiplyAdd(alpha, lo, Vector512.Load(row)).Store(row);
            Vector512.FusedMultiplyAdd(alpha, hi, Vector512.Load(row + 16)).Store(row + 16);
        }
        else
        {
            (alpha * lo).Store(row);
            (alpha * hi).Store(row + 16);
        }
    }
}
