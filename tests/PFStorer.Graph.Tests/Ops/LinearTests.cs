using PFStorer.Graph.Autograd;
using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>F.Linear, F.MatMul and the backend's MatMul / SumToShape against float64 references and finite differences.</summary>
public class LinearTests
{
    private const double ForwardTolerance = 1e-5, GradTolerance = 1e-3;

    /// <summary>float64 op(A)·op(B) for a [batch?, rows, cols] operand pair; a 2-D operand is shared across the batch.</summary>
    private static double[] RefMatMul(double[] a, int[] aShape, double[] b, int[] bShape, bool transA, bool transB, int batch)
    {
        int ar = aShape[^2], ac = aShape[^1], br = bShape[^2], bc = bShape[^1];
        int m = transA ? ac : ar, k = transA ? ar : ac, n = transB ? br : bc;
        long aStride = aShape.Length == 3 ? ar * ac : 0, bStride = bShape.Length == 3 ? br * bc : 0;
        var c = new double[Math.Max(batch, 1) * m * n];
        for (int bi = 0; bi < Math.Max(batch, 1); bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double x = a[bi * aStride + (transA ? p * ac + i : i * ac + p)];
                        double y = b[bi * bStride + (transB ? j * bc + p : p * bc + j)];
                        s += x * y;
                    }
                    c[(bi * m + i) * n + j] = s;
                }
        return c;
    }

    private static int[] OperandShape(int batch, int rows, int cols, bool trans) =>
        batch > 0 ? (trans ? [batch, cols, rows] : [batch, rows, cols]) : (trans ? [cols, rows] : [rows, cols]);

    public static TheoryData<bool, bool, int, int> TransAndBatching()
    {
        var data = new TheoryData<bool, bool, int, int>();
        // batching: 0 = both 2-D, 1 = both batched, 2 = A batched / B shared, 3 = A shared / B batched
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                for (int mode = 0; mode < 4; mode++) data.Add(ta, tb, mode, 3);
        return data;
    }

    [Theory]
    [MemberData(nameof(TransAndBatching))]
    public void MatMulForwardAndBackwardMatchFloat64(bool transA, bool transB, int mode, int batch)
    {
        var rng = NewRandom(out int seed);
        int m = rng.Next(1, 9), k = rng.Next(1, 9), n = rng.Next(1, 21);
        int aBatch = mode is 1 or 2 ? batch : 0, bBatch = mode is 1 or 3 ? batch : 0, outBatch = mode == 0 ? 0 : batch;
        var aShape = OperandShape(aBatch, m, k, transA);
        var bShape = OperandShape(bBatch, k, n, transB);
        var ad = RandomArray(rng, aShape.Aggregate(1, (x, y) => x * y));
        var bd = RandomArray(rng, bShape.Aggregate(1, (x, y) => x * y));
        string what = $"matmul transA={transA} transB={transB} a{Str(aShape)} b{Str(bShape)} seed={seed}";

        using var a = Reference.Tensor(ad, aShape);
        using var b = Reference.Tensor(bd, bShape);
        a.RequiresGrad = b.RequiresGrad = true;
        using var c = F.MatMul(a, b, transA, transB);
        Func<double[][], double[]> reference = x => RefMatMul(x[0], aShape, x[1], bShape, transA, transB, outBatch);
        double[][] inputs = [ad, bd];
        AssertClose(c.ToFloatArray(), reference(inputs), ForwardTolerance, what + " forward");

        var weights = RandomArray(rng, (int)c.Numel);
        using (var g = Reference.Tensor(weights, c.ShapeArray())) Tape.Backward(c, g);
        using var da = a.Grad!;
        using var db = b.Grad!;
        AssertClose(da.ToFloatArray(), NumericGradient(reference, inputs, weights, 0), GradTolerance, what + " dA");
        AssertClose(db.ToFloatArray(), NumericGradient(reference, inputs, weights, 1), GradTolerance, what + " dB");
    }

    /// <summary>Sizes straddling every cache block (MC=144, KC=256, NC=512) and the 6×16 register tile, all four transpositions.</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMulAcrossCacheBlocksMatchesFloat64(bool transA, bool transB)
    {
        var rng = NewRandom(out int seed);
        int m = 145 + rng.Next(6), k = 257 + rng.Next(30), n = 513 + rng.Next(15);
        var aShape = OperandShape(0, m, k, transA);
        var bShape = OperandShape(0, k, n, transB);
        var ad = RandomArray(rng, m * k);
        var bd = RandomArray(rng, k * n);
        using var a = Reference.Tensor(ad, aShape);
        using var b = Reference.Tensor(bd, bShape);
        using var c = F.MatMul(a, b, transA, transB);
        AssertClose(c.ToFloatArray(), RefMatMul(ad, aShape, bd, bShape, transA, transB, 0), ForwardTolerance,
            $"matmul {m}x{k}x{n} transA={transA} transB={transB} seed={seed}");
    }

    [Fact]
    public void MatMulOneByOneByOne()
    {
        var rng = NewRandom(out int seed);
        float x = (float)rng.NextDouble() + 0.5f, y = (float)rng.NextDouble() - 2f;
        using var a = Tensor.FromArray([x], 1, 1);
        using var b = Tensor.FromArray([y], 1, 1);
        using var c = F.MatMul(a, b);
        Assert.True(Math.Abs(c.ToFloatArray()[0] - (double)x * y) <= 1e-6 * Math.Abs((double)x * y), $"1x1x1 product, seed={seed}");
    }

    /// <summary>alpha, beta (including beta = 0 over garbage) and the bias row-broadcast of the backend call itself.</summary>
    [Theory]
    [InlineData(0.5f, 0f, true)]
    [InlineData(1f, 1f, false)]
    [InlineData(-2f, 0.25f, true)]
    [InlineData(0f, 3f, true)]
    public void BackendAlphaBetaBias(float alpha, float beta, bool withBias)
    {
        var rng = NewRandom(out int seed);
        int batch = 2, m = 13, k = 300, n = 37;
        var ad = RandomArray(rng, batch * m * k);
        var bd = RandomArray(rng, n * k);
        var cd = RandomArray(rng, batch * m * n);
        var biasd = RandomArray(rng, n);
        using var a = Reference.Tensor(ad, batch, m, k);
        using var b = Reference.Tensor(bd, n, k);
        using var bias = Reference.Tensor(biasd, n);
        // beta = 0 must ignore whatever C holds, NaN included.
        using var c = beta == 0 ? Tensor.Full([batch, m, n], float.NaN) : Reference.Tensor(cd, batch, m, n);
        c.Backend.MatMul(a, b, c, false, true, alpha, beta, withBias ? bias : null);

        var prod = RefMatMul(ad, [batch, m, k], bd, [n, k], false, true, batch);
        var expected = new double[prod.Length];
        for (int i = 0; i < prod.Length; i++)
            expected[i] = alpha * prod[i] + (beta == 0 ? 0 : beta * cd[i]) + (withBias ? biasd[i % n] : 0);
        AssertClose(c.ToFloatArray(), expected, ForwardTolerance, $"alpha={alpha} beta={beta} bias={withBias} seed={seed}");
    }

    [Fact]
    public void BackendRejectsMismatchedShapes()
    {
        using var a = Tensor.Zeros([4, 5]);
        using var b = Tensor.Zeros([6, 7]);
        using var c = Tensor.Zeros([4, 7]);
        var e = Assert.Throws<ArgumentException>(() => a.Backend.MatMul(a, b, c, false, false));
        Assert.Contains("[4,5]", e.Message);
    }

    [Theory]
    [InlineData(new[] { 7 })]
    [InlineData(new[] { 2, 3, 5 })]
    public void LinearForwardAndBackwardMatchFloat64(int[] lead)
    {
        var rng = NewRandom(out int seed);
        int k = rng.Next(1, 12), n = rng.Next(1, 19);
        var xShape = lead.Append(k).ToArray();
        int rows = lead.Aggregate(1, (p, d) => p * d);
        var xd = RandomArray(rng, rows * k);
        var wd = RandomArray(rng, n * k);
        var bd = RandomArray(rng, n);
        Func<double[][], double[]> reference = inp =>
        {
            var r = new double[rows * n];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = inp[2][j];
                    for (int p = 0; p < k; p++) s += inp[0][i * k + p] * inp[1][j * k + p];
                    r[i * n + j] = s;
                }
            return r;
        };
        OpCheck.ForwardAndBackward($"linear x{Str(xShape)} w[{n},{k}] seed={seed}", rng,
            [new(xd, xShape), new(wd, [n, k]), new(bd, [n])],
            t =>
            {
                var y = F.Linear(t[0], t[1], t[2]);
                Assert.Equal(lead.Append(n).ToArray(), y.ShapeArray());
                return y;
            },
            reference);
    }

    [Fact]
    public void FrozenWeightGetsNoGradient()
    {
        var rng = NewRandom(out _);
        using var x = Reference.Tensor(RandomArray(rng, 6), 2, 3);
        using var w = Reference.Tensor(RandomArray(rng, 12), 4, 3);
        x.RequiresGrad = true;
        using var y = F.Linear(x, w);
        using (var g = Tensor.Full([2, 4], 1f)) Tape.Backward(y, g);
        using var dx = x.Grad!;
        Assert.NotNull(dx);
        Assert.Null(w.Grad);
    }

    public static TheoryData<int[], int[]> BroadcastPairs() => new()
    {
        { [7, 5], [5] },
        { [3, 4, 5], [4, 5] },
        { [3, 4, 5], [4, 1] },
        { [2, 3, 4, 5], [1, 3, 1, 1] },
        { [2, 3, 4, 5], [3, 1, 5] },
        { [2, 3, 4], [2, 3, 4] },
        { [2, 3, 4], [1] },
        { [6, 1, 4], [1, 1, 4] },
        { [5], [1, 5] },
    };

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void SumToShapeMatchesFloat64(int[] srcShape, int[] dstShape)
    {
        var rng = NewRandom(out int seed);
        int count = srcShape.Aggregate(1, (p, d) => p * d);
        var sd = RandomArray(rng, count);
        var expected = new double[dstShape.Aggregate(1, (p, d) => p * d)];
        var dstStrides = Tensor.ContiguousStrides(dstShape);
        int offset = srcShape.Length - dstShape.Length;
        for (int i = 0; i < count; i++)
        {
            // Unravel the source index and ravel it into the destination, dropping broadcast dims.
            long rem = i, di = 0;
            for (int d = srcShape.Length - 1; d >= 0; d--)
            {
                long idx = rem % srcShape[d];
                rem /= srcShape[d];
                int j = d - offset;
                if (j >= 0 && dstShape[j] != 1) di += idx * dstStrides[j];
            }
            expected[di] += sd[i];
        }
        using var src = Reference.Tensor(sd, srcShape);
        using var dst = Tensor.Empty(dstShape);
        src.Backend.SumToShape(src, dst);
        AssertClose(dst.ToFloatArray(), expected, ForwardTolerance, $"sum {Str(srcShape)} → {Str(dstShape)} seed={seed}");
    }

    [Fact]
    public void SumToShapeRejectsNonBroadcastShape()
    {
        using var src = Tensor.Zeros([3, 4]);
        using var dst = Tensor.Zeros([3]);
        Assert.Throws<ArgumentException>(() => src.Backend.SumToShape(src, dst));
    }

}
