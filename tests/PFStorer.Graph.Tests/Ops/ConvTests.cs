using PFStorer.Graph.Autograd;
using PFStorer.Kernels.Cpu;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>F.Conv2d and its backward against a direct float64 convolution and finite differences of it.</summary>
public class ConvTests
{
    private const double ForwardTolerance = 1e-5, GradTolerance = 1e-3;

    private readonly record struct Shape(int B, int C, int H, int W, int O, int KH, int KW, int Stride, int Pad)
    {
        public int Ho => (H + 2 * Pad - KH) / Stride + 1;
        public int Wo => (W + 2 * Pad - KW) / Stride + 1;
        public override string ToString() => $"x[{B},{C},{H},{W}] w[{O},{C},{KH},{KW}] stride {Stride} pad {Pad}";
    }

    /// <summary>y[b,o,oh,ow] = bias[o] + Σ_{c,i,j} x[b,c,oh·s−p+i, ow·s−p+j]·w[o,c,i,j] (zero outside the image).</summary>
    private static double[] RefConv(Shape s, double[] x, double[] w, double[]? bias)
    {
        var y = new double[s.B * s.O * s.Ho * s.Wo];
        for (int b = 0; b < s.B; b++)
            for (int o = 0; o < s.O; o++)
                for (int oh = 0; oh < s.Ho; oh++)
                    for (int ow = 0; ow < s.Wo; ow++)
                    {
                        double acc = bias?[o] ?? 0;
                        for (int c = 0; c < s.C; c++)
                            for (int i = 0; i < s.KH; i++)
                            {
                                int ih = oh * s.Stride - s.Pad + i;
                                if (ih < 0 || ih >= s.H) continue;
                                for (int j = 0; j < s.KW; j++)
                                {
                                    int iw = ow * s.Stride - s.Pad + j;
                                    if (iw < 0 || iw >= s.W) continue;
                                    acc += x[((b * s.C + c) * s.H + ih) * s.W + iw] * w[((o * s.C + c) * s.KH + i) * s.KW + j];
                                }
                            }
                        y[((b * s.O + o) * s.Ho + oh) * s.Wo + ow] = acc;
                    }
        return y;
    }

    /// <summary>Analytic float64 gradients: dx[b,c,ih,iw] = Σ dy·w over the taps that read that pixel, dw[o,c,i,j] = Σ dy·x, dbias[o] = Σ dy.</summary>
    private static (double[] dx, double[] dw, double[] db) RefConvBackward(Shape s, double[] x, double[] w, double[] dy)
    {
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[s.O];
        for (int b = 0; b < s.B; b++)
            for (int o = 0; o < s.O; o++)
                for (int oh = 0; oh < s.Ho; oh++)
                    for (int ow = 0; ow < s.Wo; ow++)
                    {
                        double g = dy[((b * s.O + o) * s.Ho + oh) * s.Wo + ow];
                        db[o] += g;
                        for (int c = 0; c < s.C; c++)
                            for (int i = 0; i < s.KH; i++)
                            {
                                int ih = oh * s.Stride - s.Pad + i;
                                if (ih < 0 || ih >= s.H) continue;
                                for (int j = 0; j < s.KW; j++)
                                {
                                    int iw = ow * s.Stride - s.Pad + j;
                                    if (iw < 0 || iw >= s.W) continue;
                                    int xi = ((b * s.C + c) * s.H + ih) * s.W + iw, wi = ((o * s.C + c) * s.KH + i) * s.KW + j;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                            }
                    }
        return (dx, dw, db);
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int> SmallShapes() => new()
    {
        { 2, 3, 5, 7, 4, 1, 1, 1, 0 },   // pointwise: plain GEMM path
        { 2, 3, 5, 7, 4, 3, 3, 1, 1 },   // UNet 3×3 "same"
        { 2, 3, 7, 6, 5, 3, 3, 2, 1 },   // downsample
        { 1, 2, 6, 9, 3, 3, 3, 2, 0 },   // VAE downsample (asymmetric pad is done outside the op)
        { 1, 4, 5, 5, 2, 1, 1, 2, 0 },   // strided 1×1 goes through im2col
        { 2, 2, 4, 5, 3, 2, 3, 1, 2 },   // rectangular kernel, padding wider than the kernel's reach
        { 1, 1, 1, 1, 1, 1, 1, 1, 0 },   // 1×1×1
    };

    [Theory]
    [MemberData(nameof(SmallShapes))]
    public void ForwardAndBackwardMatchFloat64(int b, int c, int h, int w, int o, int kh, int kw, int stride, int pad)
    {
        var s = new Shape(b, c, h, w, o, kh, kw, stride, pad);
        var rng = NewRandom(out int seed);
        var xd = RandomArray(rng, b * c * h * w);
        var wd = RandomArray(rng, o * c * kh * kw);
        var bd = RandomArray(rng, o);
        string what = $"conv {s} seed={seed}";

        OpCheck.ForwardAndBackward(what, rng, [new(xd, [b, c, h, w]), new(wd, [o, c, kh, kw]), new(bd, [o])],
            t =>
            {
                var y = F.Conv2d(t[0], t[1], t[2], stride, pad);
                Assert.Equal([b, o, s.Ho, s.Wo], y.ShapeArray());
                return y;
            },
            inp => RefConv(s, inp[0], inp[1], inp[2]));
    }

    /// <summary>
    /// Shapes large enough for the multi-block GEMM (depth over KC) and the parallel im2col / col2im. Finite differences
    /// would take too long here, so the backward is checked against the analytic float64 gradients.
    /// </summary>
    [Theory]
    [InlineData(1, 32, 34, 30, 40, 3, 1, 1)]
    [InlineData(1, 32, 34, 30, 24, 3, 2, 1)]
    [InlineData(2, 300, 9, 11, 20, 1, 1, 0)]
    public void LargerShapesMatchFloat64(int b, int c, int h, int w, int o, int k, int stride, int pad)
    {
        var s = new Shape(b, c, h, w, o, k, k, stride, pad);
        var rng = NewRandom(out int seed);
        var xd = RandomArray(rng, b * c * h * w);
        var wd = RandomArray(rng, o * c * k * k);
        var bd = RandomArray(rng, o);
        var dyd = RandomArray(rng, b * o * s.Ho * s.Wo);
        string what = $"conv {s} seed={seed}";

        using var x = Reference.Tensor(xd, b, c, h, w);
        using var wt = Reference.Tensor(wd, o, c, k, k);
        using var bias = Reference.Tensor(bd, o);
        using var y = Tensor.Empty([b, o, s.Ho, s.Wo]);
        x.Backend.Conv2d(x, wt, bias, y, stride, pad);
        AssertClose(y.ToFloatArray(), RefConv(s, xd, wd, bd), ForwardTolerance, what + " forward");

        var (dxRef, dwRef, dbRef) = RefConvBackward(s, xd, wd, dyd);
        using var dy = Reference.Tensor(dyd, b, o, s.Ho, s.Wo);
        using var dx = Tensor.Full([b, c, h, w], float.NaN);   // backward must overwrite, not accumulate
        using var dw = Tensor.Full([o, c, k, k], float.NaN);
        using var db = Tensor.Full([o], float.NaN);
        x.Backend.Conv2dBackward(x, wt, dy, dx, dw, db, stride, pad);
        AssertClose(dx.ToFloatArray(), dxRef, ForwardTolerance, what + " dx");
        AssertClose(dw.ToFloatArray(), dwRef, ForwardTolerance, what + " dw");
        AssertClose(db.ToFloatArray(), dbRef, ForwardTolerance, what + " dbias");
    }

    /// <summary>The im2col band loop (normally one band below 32 MiB of columns) forced to bands of 1 and 3 output rows, with a remainder.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    public unsafe void BandedIm2ColMatchesFloat64(int band, int stride)
    {
        var s = new Shape(2, 5, 11, 9, 7, 3, 3, stride, 1);
        var rng = NewRandom(out int seed);
        var xd = RandomArray(rng, s.B * s.C * s.H * s.W);
        var wd = RandomArray(rng, s.O * s.C * 9);
        var bd = RandomArray(rng, s.O);
        var dyd = RandomArray(rng, s.B * s.O * s.Ho * s.Wo);
        var g = new Conv2dGeometry(s.B, s.C, s.H, s.W, s.O, 3, 3, stride, 1);
        var y = new float[dyd.Length];
        var dx = new float[xd.Length];
        var dw = new float[wd.Length];
        var db = new float[s.O];
        fixed (float* px = ToFloat(xd), pw = ToFloat(wd), pb = ToFloat(bd), pdy = ToFloat(dyd), py = y, pdx = dx, pdw = dw, pdb = db)
        {
            Conv2dCpu.Forward(g, px, pw, pb, py, band);
            Conv2dCpu.Backward(g, px, pw, pdy, pdx, pdw, pdb, band);
        }
        string what = $"conv {s} band {band} seed={seed}";
        var (dxRef, dwRef, dbRef) = RefConvBackward(s, xd, wd, dyd);
        AssertClose(y, RefConv(s, xd, wd, bd), ForwardTolerance, what + " forward");
        AssertClose(dx, dxRef, ForwardTolerance, what + " dx");
        AssertClose(dw, dwRef, ForwardTolerance, what + " dw");
        AssertClose(db, dbRef, ForwardTolerance, what + " dbias");
    }

    [Fact]
    public void FrozenWeightsGetNoGradientAndInputGradientStillFlows()
    {
        var rng = NewRandom(out int seed);
        var s = new Shape(1, 2, 5, 5, 3, 3, 3, 1, 1);
        var xd = RandomArray(rng, 50);
        var wd = RandomArray(rng, 54);
        using var x = Reference.Tensor(xd, 1, 2, 5, 5);
        using var wt = Reference.Tensor(wd, 3, 2, 3, 3);
        x.RequiresGrad = true;
        using var y = F.Conv2d(x, wt, null, 1, 1);
        var weights = RandomArray(rng, (int)y.Numel);
        using (var g = Reference.Tensor(weights, y.ShapeArray())) Tape.Backward(y, g);
        using var dx = x.Grad!;
        Assert.Null(wt.Grad);
        AssertClose(dx.ToFloatArray(), NumericGradient(inp => RefConv(s, inp[0], inp[1], null), [xd, wd], weights, 0), GradTolerance, $"dx seed={seed}");
    }

    [Fact]
    public void MismatchedOutputShapeIsRejected()
    {
        using var x = Tensor.Zeros([1, 2, 5, 5]);
        using var w = Tensor.Zeros([3, 2, 3, 3]);
        using var y = Tensor.Zeros([1, 3, 4, 4]);
        var e = Assert.Throws<ArgumentException>(() => x.Backend.Conv2d(x, w, null, y, 1, 1));
        Assert.Contains("[1,3,4,4]", e.Message);
    }
}
