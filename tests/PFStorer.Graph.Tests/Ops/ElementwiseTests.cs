using PFStorer.Graph.Backends;
using PFStorer.Kernels.Cpu;
using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>Activations, GEGLU, broadcast binaries, the affine map and the SFT modulation against float64 references and finite differences.</summary>
public class ElementwiseTests
{
    /// <summary>erf by composite Simpson integration of 2/√π·e^(−t²) over [0, x] in float64 (error ≲ 1e-13 at 4000 panels, ≲ 1e-8 at 200).</summary>
    private static double ErfByQuadrature(double x, int panels = 4000)
    {
        double h = x / panels, s = 0;
        for (int i = 0; i <= panels; i++)
        {
            double t = i * h, f = Math.Exp(-t * t);
            s += i == 0 || i == panels ? f : i % 2 == 1 ? 4 * f : 2 * f;
        }
        return s * h / 3 * 2 / Math.Sqrt(Math.PI);
    }

    // 200 panels keep the O(n²) finite-difference loops cheap and are still 1000× below the f32 tolerances.
    private static double Gelu(double x) => 0.5 * x * (1 + ErfByQuadrature(x / Math.Sqrt(2), 200));

    private static double GeluDerivative(double x) => 0.5 * (1 + ErfByQuadrature(x / Math.Sqrt(2), 200)) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    [Fact]
    public void ErfIsAccurateTo1e7()
    {
        var rng = NewRandom(out int seed);
        double worst = 0, worstAt = 0;
        // Fresh points over the whole range plus the branch boundaries of the implementation (2.5 and 6).
        var xs = RandomArray(rng, 400, 7.0).Concat([0.0, 2.5, -2.5, 2.4999999, 6.0, -6.0, 1e-9]);
        foreach (double x in xs)
        {
            double err = Math.Abs(Erf.Of(x) - ErfByQuadrature(x));
            if (err > worst) { worst = err; worstAt = x; }
        }
        Assert.True(worst < 1e-7, $"erf: max |error| {worst:E2} at x = {worstAt} (seed={seed})");
    }

    [Fact]
    public void FloatErfIsAccurateTo1e7OverTheWholeRange()
    {
        var rng = NewRandom(out int seed);
        // Every 251st float in ±[0, 8] from a random offset (≈ 8.7e6 points: the branch split, the erfc tail and the
        // saturation to ±1), all the way into the subnormals, plus the largest floats, ±0 and ±∞.
        var grid = new List<float>();
        for (int bits = rng.Next(251); bits <= BitConverter.SingleToInt32Bits(8f); bits += 251)
        {
            float v = BitConverter.Int32BitsToSingle(bits);
            grid.Add(v);
            grid.Add(-v);
        }
        grid.AddRange([float.Epsilon, -float.Epsilon, 1e-40f, 0f, -0f, float.MaxValue, float.MinValue, 1e30f, -1e30f,
            float.PositiveInfinity, float.NegativeInfinity]);
        grid.Add(0f); // an odd length, so the padded tail of the vector loop is covered too
        var x = grid.ToArray();
        var y = new float[x.Length];
        ErfVector.Erf(x, y);

        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double reference = float.IsInfinity(x[i]) ? Math.Sign(x[i]) : Erf.Of(x[i]);
            double err = Math.Abs(y[i] - reference);
            if (err > worst || double.IsNaN(err)) { worst = err; worstAt = x[i]; }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"float erf: max |error| {worst:E3} at x = {worstAt:R} over {x.Length} points");
        Assert.True(worst <= 1e-7, $"float erf: max |error| {worst:E3} at x = {worstAt:R} (seed={seed})");

        var nan = new float[3];
        ErfVector.Erf([float.NaN, 1f, -float.NaN], nan);
        Assert.True(float.IsNaN(nan[0]) && float.IsNaN(nan[2]), $"float erf of NaN: {nan[0]}, {nan[2]}");
    }

    /// <summary>
    /// GELU(x) = ½x·erfc(|x|/√2) for x &lt; 0 is a small difference 1 + erf of nearly opposite terms; an erf accurate to
    /// 1e-7 absolute alone would leave 5e-4 relative error at x = −4. Held to relative error over [−9, 0) against erfc in float64.
    /// </summary>
    [Fact]
    public void GeluKeepsRelativePrecisionInTheNegativeTail()
    {
        var rng = NewRandom(out int seed);
        var x = Enumerable.Range(0, 100_003).Select(_ => (float)(-9 * (1 - rng.NextDouble()))).ToArray();
        var y = new float[x.Length];
        ActivationCpu.Gelu(x, y);
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double reference = 0.5 * x[i] * Erf.Complement(-x[i] / Math.Sqrt(2));
            double err = Math.Abs(y[i] - reference) / Math.Abs(reference);
            if (err > worst || double.IsNaN(err)) { worst = err; worstAt = x[i]; }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"gelu on [-9, 0): max relative error {worst:E3} at x = {worstAt:R}");
        Assert.True(worst <= 1e-5, $"gelu on [-9, 0): max relative error {worst:E3} at x = {worstAt:R} (seed={seed})");
    }

    public static TheoryData<string, int> UnaryCases()
    {
        var d = new TheoryData<string, int>();
        foreach (var op in new[] { "silu", "relu", "gelu" })
            foreach (int n in new[] { 1, 37, 300 }) d.Add(op, n);
        return d;
    }

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void UnaryMatchesFloat64(string op, int n)
    {
        var rng = NewRandom(out int seed);
        // ReLU has a kink at 0 where central differences straddle both sides: keep its inputs away from it.
        var x = RandomArray(rng, n, 4.0).Select(v => op == "relu" && Math.Abs(v) < 1e-3 ? 0.5 : v).ToArray();
        Func<double, double> f = op switch
        {
            "silu" => v => v / (1 + Math.Exp(-v)),
            "relu" => v => Math.Max(v, 0),
            _ => Gelu,
        };
        int[] shape = n == 300 ? [3, 10, 10] : [n];
        ForwardAndBackward($"{op} n={n} seed={seed}", rng, [new(x, shape)],
            t => op switch { "silu" => F.SiLU(t[0]), "relu" => F.ReLU(t[0]), _ => F.Gelu(t[0]) },
            d => d[0].Select(f).ToArray());
    }

    /// <summary>
    /// Sizes large enough for the SIMD bodies and the parallel split. Finite differences are O(n²) here, so the backward
    /// is held to the float64 closed-form derivative instead (the same derivative the small cases verify numerically).
    /// </summary>
    [Theory]
    [InlineData("silu")]
    [InlineData("relu")]
    [InlineData("gelu")]
    public void UnaryLargeMatchesFloat64(string op)
    {
        var rng = NewRandom(out int seed);
        const int n = 70001;
        var x = RandomArray(rng, n, 6.0);
        var dy = RandomArray(rng, n);
        (Func<double, double> f, Func<double, double> df) = op switch
        {
            "silu" => (v => v / (1 + Math.Exp(-v)), v => { double s = 1 / (1 + Math.Exp(-v)); return s * (1 + v * (1 - s)); }),
            "relu" => ((Func<double, double>)(v => Math.Max(v, 0)), (Func<double, double>)(v => v > 0 ? 1 : 0)),
            _ => ((Func<double, double>)Gelu, (Func<double, double>)GeluDerivative),
        };
        var uop = op switch { "silu" => UnaryOp.SiLU, "relu" => UnaryOp.ReLU, _ => UnaryOp.Gelu };
        using var xt = Reference.Tensor(x, n);
        using var dyt = Reference.Tensor(dy, n);
        using var y = Tensor.Empty([n]);
        using var dx = Tensor.Empty([n]);
        xt.Backend.Unary(uop, xt, y);
        xt.Backend.UnaryBackward(uop, xt, dyt, dx);
        AssertClose(y.ToFloatArray(), x.Select(f).ToArray(), ForwardTolerance, $"{op} n={n} forward seed={seed}");
        AssertClose(dx.ToFloatArray(), x.Select((v, i) => dy[i] * df(v)).ToArray(), ForwardTolerance, $"{op} n={n} backward seed={seed}");
    }

    [Theory]
    [InlineData(new[] { 2, 3, 8 })]
    [InlineData(new[] { 5, 14 })]
    [InlineData(new[] { 1, 2 })]
    public void GegluMatchesFloat64(int[] shape)
    {
        var rng = NewRandom(out int seed);
        int n = shape[^1] / 2;
        ForwardAndBackward($"geglu {Str(shape)} seed={seed}", rng, [new(RandomArray(rng, Numel(shape), 3.0), shape)],
            t => F.Geglu(t[0]),
            d =>
            {
                var y = new double[d[0].Length / 2];
                for (int r = 0; r < y.Length / n; r++)
                    for (int j = 0; j < n; j++) y[r * n + j] = d[0][r * 2 * n + j] * Gelu(d[0][r * 2 * n + n + j]);
                return y;
            });
    }

    /// <summary>float64 numpy-broadcast a op b.</summary>
    private static double[] RefBinary(string op, double[] a, int[] aShape, double[] b, int[] bShape)
    {
        var yShape = F.BroadcastShape(aShape, bShape);
        var y = new double[Numel(yShape)];
        var index = new int[yShape.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int rem = i;
            for (int d = yShape.Length - 1; d >= 0; d--) { index[d] = rem % yShape[d]; rem /= yShape[d]; }
            double av = a[Flat(index, aShape)], bv = b[Flat(index, bShape)];
            y[i] = op switch { "add" => av + bv, "sub" => av - bv, _ => av * bv };
        }
        return y;
    }

    // Row-major offset of a broadcast index in an operand of the given (right-aligned) shape.
    private static int Flat(int[] index, int[] shape)
    {
        int off = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            int i = index[index.Length - shape.Length + d];
            off = off * shape[d] + (shape[d] == 1 ? 0 : i);
        }
        return off;
    }

    public static TheoryData<string, int[], int[]> BinaryCases()
    {
        var d = new TheoryData<string, int[], int[]>();
        int[][][] pairs =
        [
            [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[1], [5, 2]], [[2, 3, 4, 5], [1, 3, 1, 1]],
            [[], [3, 2]], [[7, 1], [1, 9]], [[3, 1, 5], [3, 4, 5]], [[1, 1, 1], [2, 1, 3]],
        ];
        foreach (var op in new[] { "add", "sub", "mul" })
            foreach (var p in pairs) d.Add(op, p[0], p[1]);
        return d;
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void BinaryBroadcastMatchesFloat64(string op, int[] aShape, int[] bShape)
    {
        var rng = NewRandom(out int seed);
        var a = RandomArray(rng, Numel(aShape));
        var b = RandomArray(rng, Numel(bShape));
        ForwardAndBackward($"{op} {Str(aShape)} {Str(bShape)} seed={seed}", rng, [new(a, aShape), new(b, bShape)],
            t => op switch { "add" => F.Add(t[0], t[1]), "sub" => F.Sub(t[0], t[1]), _ => F.Mul(t[0], t[1]) },
            d => RefBinary(op, d[0], aShape, d[1], bShape));
    }

    [Theory]
    [InlineData(new[] { 4, 3, 5 }, new[] { 3, 1 })]
    [InlineData(new[] { 6, 70 }, new[] { 6, 70 })]
    [InlineData(new[] { 2, 2 }, new int[0])]
    public void BinaryInPlaceIntoA(int[] aShape, int[] bShape)
    {
        var rng = NewRandom(out int seed);
        var a = RandomArray(rng, Numel(aShape));
        var b = RandomArray(rng, Numel(bShape));
        foreach (var (op, name) in new[] { (BinaryOp.Add, "add"), (BinaryOp.Sub, "sub"), (BinaryOp.Mul, "mul") })
        {
            using var at = Reference.Tensor(a, aShape);
            using var bt = Reference.Tensor(b, bShape);
            at.Backend.Binary(op, at, bt, at);
            AssertClose(at.ToFloatArray(), RefBinary(name, a, aShape, b, bShape), 1e-6, $"in-place {name} {Str(aShape)} {Str(bShape)} seed={seed}");
        }
    }

    [Theory]
    [InlineData(13, 2.5f, -0.75f)]
    [InlineData(100, -1f, 3f)]
    public void AffineMatchesFloat64(int n, float alpha, float beta)
    {
        var rng = NewRandom(out int seed);
        ForwardAndBackward($"affine n={n} seed={seed}", rng, [new(RandomArray(rng, n), [n])],
            t => F.Affine(t[0], alpha, beta),
            d => d[0].Select(x => alpha * x + beta).ToArray());
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 })]
    [InlineData(new[] { 1, 7 })]
    [InlineData(new[] { 3, 2, 33, 1 })]
    public void SftMatchesFloat64(int[] shape)
    {
        var rng = NewRandom(out int seed);
        int n = Numel(shape);
        ForwardAndBackward($"sft {Str(shape)} seed={seed}", rng,
            [new(RandomArray(rng, n), shape), new(RandomArray(rng, n), shape), new(RandomArray(rng, n), shape)],
            t => F.Sft(t[0], t[1], t[2]),
            d => d[0].Select((x, i) => x * (1 + d[1][i]) + d[2][i]).ToArray());
    }
}
