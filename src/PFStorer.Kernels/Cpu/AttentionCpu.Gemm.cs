using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

public static partial class AttentionCpu
{
    private const int TileRows = 4;

    /// <summary>
    /// C[m×n] (+)= A[m×k]·B[k×n] on the small blocks of one attention task. A(i,p) is at a[i·ars + p·acs], so a transposed
    /// A (Pᵀ·dO, dSᵀ·Q) is just swapped strides; B has unit column stride and row stride ldb; C has row stride ldc.
    /// Register-tiled 4 rows × 16 columns: each step loads two B vectors, broadcasts four A values and issues eight FMAs,
    /// with no horizontal reductions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Gemm(int m, int n, int k, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i += TileRows)
        {
            // Rows past m repeat row m−1: a tile loads all of C before storing any, so the duplicates store identical values.
            int i1 = Math.Min(i + 1, m - 1), i2 = Math.Min(i + 2, m - 1), i3 = Math.Min(i + 3, m - 1);
            float* a0 = a + (long)i * ars, a1 = a + (long)i1 * ars, a2 = a + (long)i2 * ars, a3 = a + (long)i3 * ars;
            float* c0 = c + (long)i * ldc, c1 = c + (long)i1 * ldc, c2 = c + (long)i2 * ldc, c3 = c + (long)i3 * ldc;
            int j = 0;
            for (; j + 16 <= n; j += 16) Tile4x16(k, a0, a1, a2, a3, acs, b + j, ldb, c0 + j, c1 + j, c2 + j, c3 + j, accumulate);
            for (; j + 8 <= n; j += 8) Tile4x8(k, a0, a1, a2, a3, acs, b + j, ldb, c0 + j, c1 + j, c2 + j, c3 + j, accumulate);
            for (int r = i; r < Math.Min(i + TileRows, m); r++)
                for (int jj = j; jj < n; jj++)
                {
                    float s = accumulate ? c[(long)r * ldc + jj] : 0f;
                    for (int p = 0; p < k; p++) s += a[(long)r * ars + (long)p * acs] * b[(long)p * ldb + jj];
                    c[(long)r * ldc + jj] = s;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile4x16(int k, float* a0, float* a1, float* a2, float* a3, int acs, float* b, int ldb,
        float* c0, float* c1, float* c2, float* c3, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector256.Load(c0); c01 = Vector256.Load(c0 + 8);
            c10 = Vector256.Load(c1); c11 = Vector256.Load(c1 + 8);
            c20 = Vector256.Load(c2); c21 = Vector256.Load(c2 + 8);
            c30 = Vector256.Load(c3); c31 = Vector256.Load(c3 + 8);
        }
        else c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
        for (int p = 0; p < k; p++, b += ldb)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            long at = (long)p * acs;
            var x = Vector256.Create(a0[at]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[at]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[at]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[at]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        c00.Store(c0); c01.Store(c0 + 8);
        c10.Store(c1); c11.Store(c1 + 8);
        c20.Store(c2); c21.Store(c2 + 8);
        c30.Store(c3); c31.Store(c3 + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile4x8(int k, float* a0, float* a1, float* a2, float* a3, int acs, float* b, int ldb,
        float* c0, float* c1, float* c2, float* c3, bool accumulate)
    {
        Vector256<float> c00, c10, c20, c30;
        if (accumulate)
        {
            c00 = Vector256.Load(c0); c10 = Vector256.Load(c1); c20 = Vector256.Load(c2); c30 = Vector256.Load(c3);
        }
        else c00 = c10 = c20 = c30 = Vector256<float>.Zero;
        for (int p = 0; p < k; p++, b += ldb)
        {
            var b0 = Vector256.Load(b);
            long at = (long)p * acs;
            c00 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[at]), b0, c00);
            c10 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[at]), b0, c10);
            c20 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[at]), b0, c20);
            c30 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[at]), b0, c30);
        }
        c00.Store(c0); c10.Store(c1); c20.Store(c2); c30.Store(c3);
    }
}
