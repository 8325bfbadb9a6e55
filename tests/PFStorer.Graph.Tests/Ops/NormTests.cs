using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>F.GroupNorm (± affine, ± fused SiLU) and F.LayerNorm against float64 references and finite differences.</summary>
public class NormTests
{
    private static double SiLU(double z) => z / (1 + Math.Exp(-z));

    /// <summary>float64 GroupNorm of x [B, C, S…] with biased variance, optional affine and SiLU.</summary>
    private static double[] RefGroupNorm(double[] x, double[]? w, double[]? b, int[] shape, int groups, double eps, bool silu)
    {
        int batch = shape[0], c = shape[1], s = Numel(shape) / (batch * c), cpg = c / groups, n = cpg * s;
        var y = new double[x.Length];
        for (int bi = 0; bi < batch; bi++)
            for (int g = 0; g < groups; g++)
            {
                int start = (bi * c + g * cpg) * s;
                double mean = 0, variance = 0;
                for (int i = 0; i < n; i++) mean += x[start + i];
                mean /= n;
                for (int i = 0; i < n; i++) variance += (x[start + i] - mean) * (x[start + i] - mean);
                variance /= n;
                for (int i = 0; i < n; i++)
                {
                    int ch = g * cpg + i / s;
                    double v = (x[start + i] - mean) / Math.Sqrt(variance + eps) * (w?[ch] ?? 1) + (b?[ch] ?? 0);
                    y[start + i] = silu ? SiLU(v) : v;
                }
            }
        return y;
    }

    [Theory]
    [InlineData(new[] { 2, 6, 5, 3 }, 3, true, false)]
    [InlineData(new[] { 2, 6, 5, 3 }, 3, true, true)]
    [InlineData(new[] { 1, 8, 7 }, 4, false, true)]
    // Spatial size 1 (GroupNorm on [B, C] vectors). Groups of 2 elements make x̂ = ±1 and the dx of nearly equal pairs
    // ill-conditioned in f32 (rstd → ∞), so the groups here hold 4 channels.
    [InlineData(new[] { 3, 8, 1, 1 }, 2, true, true)]
    [InlineData(new[] { 1, 5, 9, 11 }, 1, false, false)]
    [InlineData(new[] { 2, 64, 4, 4 }, 32, true, true)]
    public void GroupNormMatchesFloat64(int[] shape, int groups, bool affine, bool silu)
    {
        var rng = NewRandom(out int seed);
        const float eps = 1e-5f;
        int c = shape[1];
        // An offset mean and a non-unit scale, as activations have; the weights stay near 1 as in the fixtures.
        var x = RandomArray(rng, Numel(shape), 2.0).Select(v => v + 0.7).ToArray();
        var w = RandomArray(rng, c, 0.5).Select(v => 1 + v).ToArray();
        var b = RandomArray(rng, c, 0.5);
        string what = $"group_norm {Str(shape)} groups={groups} affine={affine} silu={silu} seed={seed}";
        Input[] inputs = affine ? [new(x, shape), new(w, [c]), new(b, [c])] : [new(x, shape)];
        ForwardAndBackward(what, rng, inputs,
            t => F.GroupNorm(t[0], groups, affine ? t[1] : null, affine ? t[2] : null, eps, silu),
            d => RefGroupNorm(d[0], affine ? d[1] : null, affine ? d[2] : null, shape, groups, eps, silu));
    }

    [Fact]
    public void GroupNormWithFrozenAffineComputesOnlyDx()
    {
        var rng = NewRandom(out int seed);
        int[] shape = [2, 4, 3, 3];
        var x = RandomArray(rng, Numel(shape));
        var w = RandomArray(rng, 4, 0.5).Select(v => 1 + v).ToArray();
        var b = RandomArray(rng, 4, 0.5);
        ForwardAndBackward($"group_norm frozen affine seed={seed}", rng, [new(x, shape), new(w, [4], false), new(b, [4], false)],
            t => F.GroupNorm(t[0], 2, t[1], t[2], 1e-6f, silu: true),
            d => RefGroupNorm(d[0], d[1], d[2], shape, 2, 1e-6, true));
    }

    private static double[] RefLayerNorm(double[] x, double[]? w, double[]? b, int width, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / width; r++)
        {
            double mean = 0, variance = 0;
            for (int i = 0; i < width; i++) mean += x[r * width + i];
            mean /= width;
            for (int i = 0; i < width; i++) variance += Math.Pow(x[r * width + i] - mean, 2);
            variance /= width;
            for (int i = 0; i < width; i++)
                y[r * width + i] = (x[r * width + i] - mean) / Math.Sqrt(variance + eps) * (w?[i] ?? 1) + (b?[i] ?? 0);
        }
        return y;
    }

    [Theory]
    [InlineData(new[] { 3, 5, 7 }, true)]
    [InlineData(new[] { 4, 33 }, true)]
    [InlineData(new[] { 2, 1, 16 }, false)]
    [InlineData(new[] { 1, 3 }, true)]
    public void LayerNormMatchesFloat64(int[] shape, bool affine)
    {
        var rng = NewRandom(out int seed);
        int c = shape[^1];
        var x = RandomArray(rng, Numel(shape), 3.0).Select(v => v - 1.3).ToArray();
        var w = RandomArray(rng, c, 0.5).Select(v => 1 + v).ToArray();
        var b = RandomArray(rng, c, 0.5);
        string what = $"layer_norm {Str(shape)} affine={affine} seed={seed}";
        Input[] inputs = affine ? [new(x, shape), new(w, [c]), new(b, [c])] : [new(x, shape)];
        ForwardAndBackward(what, rng, inputs,
            t => F.LayerNorm(t[0], affine ? t[1] : null, affine ? t[2] : null, 1e-5f),
            d => RefLayerNorm(d[0], affine ? d[1] : null, affine ? d[2] : null, c, 1e-5));
    }
}
