using PFStorer.Graph.Models.Faces;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// The inference-only window ops (depthwise conv2d, max/avg pooling, constant padding) against direct float64 loops on
/// fresh random inputs, odd sizes included; and the refusal to record a tape.
/// </summary>
public class WindowTests
{
    private static OpCheck.Input In(Random rng, params int[] shape) => new(RandomArray(rng, OpCheck.Numel(shape)), shape, RequiresGrad: false);

    /// <summary>y[b,c,oy,ox] = bias[c] + Σ_{i,j} x[b,c,oy·s−p+i, ox·s−p+j]·w[c,0,i,j], zero outside the image.</summary>
    private static double[] RefDepthwise(int b, int c, int h, int w, int k, int s, int p, double[] x, double[] f, double[]? bias)
    {
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        var y = new double[b * c * ho * wo];
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        double acc = bias?[ch] ?? 0;
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++)
                            {
                                int iy = oy * s - p + i, ix = ox * s - p + j;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w) acc += x[((n * c + ch) * h + iy) * w + ix] * f[(ch * k + i) * k + j];
                            }
                        y[((n * c + ch) * ho + oy) * wo + ox] = acc;
                    }
        return y;
    }

    [Theory]
    [InlineData(2, 5, 9, 8, 3, 1, 1, true)]
    [InlineData(1, 7, 10, 11, 3, 2, 0, true)]
    [InlineData(2, 3, 7, 7, 5, 2, 2, false)]
    [InlineData(1, 4, 6, 5, 1, 1, 0, true)]
    public void Depthwise_conv2d_matches_float64(int b, int c, int h, int w, int k, int s, int p, bool withBias)
    {
        var rng = NewRandom(out _);
        var inputs = new List<OpCheck.Input> { In(rng, b, c, h, w), In(rng, c, 1, k, k) };
        if (withBias) inputs.Add(In(rng, c));
        OpCheck.ForwardAndBackward($"depthwise k{k} s{s} p{p}", rng, inputs.ToArray(),
            t => F.DepthwiseConv2d(t[0], t[1], withBias ? t[2] : null, s, p),
            d => RefDepthwise(b, c, h, w, k, s, p, d[0], d[1], withBias ? d[2] : null));
    }

    [Theory]
    [InlineData(2, 3, 9, 8, 2, 2)]
    [InlineData(1, 4, 11, 10, 3, 2)]
    [InlineData(1, 2, 7, 7, 7, 2)]
    [InlineData(2, 3, 6, 5, 2, 1)]
    public void Pooling_matches_float64(int b, int c, int h, int w, int k, int s)
    {
        var rng = NewRandom(out _);
        int ho = (h - k) / s + 1, wo = (w - k) / s + 1;
        double[] Pool(double[] x, bool max)
        {
            var y = new double[b * c * ho * wo];
            for (int pl = 0; pl < b * c; pl++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        var window = Enumerable.Range(0, k * k).Select(t => x[(pl * h + oy * s + t / k) * w + ox * s + t % k]).ToArray();
                        y[(pl * ho + oy) * wo + ox] = max ? window.Max() : window.Average();
                    }
            return y;
        }
        OpCheck.ForwardAndBackward($"max pool k{k} s{s}", rng, [In(rng, b, c, h, w)], t => F.MaxPool2d(t[0], k, s), d => Pool(d[0], true));
        OpCheck.ForwardAndBackward($"avg pool k{k} s{s}", rng, [In(rng, b, c, h, w)], t => F.AvgPool2d(t[0], k, s), d => Pool(d[0], false));
    }

    [Theory]
    [InlineData(0, 1, 0, 1, 0f)]
    [InlineData(2, 0, 1, 3, -1.5f)]
    [InlineData(1, 1, 1, 1, -1e30f)]   // a huge fill: the normalised error of ±∞ is undefined
    public void Pad2d_places_the_input_and_fills_the_border(int top, int bottom, int left, int right, float value)
    {
        var rng = NewRandom(out _);
        const int b = 2, c = 3, h = 5, w = 4;
        int ho = h + top + bottom, wo = w + left + right;
        OpCheck.ForwardAndBackward("pad2d", rng, [In(rng, b, c, h, w)], t => F.Pad2d(t[0], top, bottom, left, right, value), d =>
        {
            var y = new double[b * c * ho * wo];
            for (int pl = 0; pl < b * c; pl++)
                for (int r = 0; r < ho; r++)
                    for (int col = 0; col < wo; col++)
                    {
                        int iy = r - top, ix = col - left;
                        y[(pl * ho + r) * wo + col] = iy >= 0 && iy < h && ix >= 0 && ix < w ? d[0][(pl * h + iy) * w + ix] : value;
                    }
            return y;
        });
    }

    [Theory]
    [InlineData(112, 3, 2, 0, 1)]   // even size, stride 2: the odd padding pixel goes after
    [InlineData(13, 2, 1, 0, 1)]
    [InlineData(207, 2, 2, 0, 1)]
    [InlineData(104, 2, 2, 0, 0)]
    [InlineData(28, 3, 1, 1, 1)]
    public void Same_padding_follows_tensorflow(int size, int kernel, int stride, int before, int after)
    {
        Assert.Equal((before, after), TfPadding.Same(size, kernel, stride));
        Assert.Equal((size + stride - 1) / stride, (size + before + after - kernel) / stride + 1);
    }

    [Fact]
    public void Window_ops_refuse_to_record_a_tape()
    {
        using var x = Tensor.Zeros([1, 2, 4, 4]);
        x.RequiresGrad = true;
        using var w = Tensor.Zeros([2, 1, 3, 3]);
        Assert.Throws<NotSupportedException>(() => F.DepthwiseConv2d(x, w, null, 1, 1));
        Assert.Throws<NotSupportedException>(() => F.MaxPool2d(x, 2, 2));
        Assert.Throws<NotSupportedException>(() => F.Pad2d(x, 1, 1, 1, 1));
        using (PFStorer.Graph.Autograd.GradMode.NoGrad())
        using (var y = F.AvgPool2d(x, 2, 2))
            Assert.Equal([1, 2, 2, 2], y.ShapeArray());
    }
}
