using System.Runtime.Intrinsics;
using PFStorer.Kernels.Cpu;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Kernels;

/// <summary>
/// Both SGEMM micro-kernel widths (the op tests only reach the machine's default one) against float64, at sizes that
/// straddle every cache block and register tile, with strided batches, alpha, beta and bias.
/// </summary>
public unsafe class SgemmTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<bool, bool, bool> Cases()
    {
        var data = new TheoryData<bool, bool, bool>();
        foreach (bool wide in new[] { false, true })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(wide, ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BatchedMatchesFloat64(bool wide, bool transA, bool transB)
    {
        if (wide && !Vector512.IsHardwareAccelerated) Assert.Skip("the 6×32 kernel needs accelerated Vector512");
        var rng = NewRandom(out int seed);
        // m over MC (144) with an MR (6) remainder, k over KC (256), n over NC (512) with an NR remainder.
        int batch = 2, m = 145 + rng.Next(10), k = 257 + rng.Next(20), n = 513 + rng.Next(40);
        float alpha = 0.75f, beta = -0.5f;
        var a = RandomArray(rng, batch * m * k);
        var b = RandomArray(rng, k * n);                  // shared across the batch
        var c0 = RandomArray(rng, batch * m * n);
        var bias = RandomArray(rng, n);
        var c = ToFloat(c0);
        fixed (float* pa = ToFloat(a), pb = ToFloat(b), pc = c, pbias = ToFloat(bias))
            Sgemm.Batched(wide, batch, transA, transB, m, n, k, alpha, pa, transA ? m : k, (long)m * k, pb, transB ? k : n, 0,
                beta, pc, n, (long)m * n, pbias);

        var expected = new double[c.Length];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += a[bi * m * k + (transA ? p * m + i : i * k + p)] * b[transB ? j * k + p : p * n + j];
                    int at = (bi * m + i) * n + j;
                    expected[at] = alpha * s + beta * c0[at] + bias[j];
                }
        AssertClose(c, expected, Tolerance, $"sgemm wide={wide} {batch}×{m}×{n}×{k} transA={transA} transB={transB} seed={seed}");
    }
}
