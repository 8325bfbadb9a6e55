using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// F.PersonalizeResidual (the γ epilogue), F.AttentionMapLoss (L_Pers) and F.PersonalizedAttention (mask-gated cross-attention
/// with the γ epilogue) against float64 references and finite differences.
/// </summary>
public class PersonalizationOpTests
{
    private static double[] RefResidual(double[] f, double[] p, double[] bias, double[] gamma)
    {
        int c = gamma.Length;
        return f.Select((v, i) => v + gamma[i % c] * (p[i] + bias[i % c])).ToArray();
    }

    [Theory]
    [InlineData(new[] { 2, 7, 16 })]
    [InlineData(new[] { 1, 33, 5 })]
    public void ResidualMatchesFloat64(int[] shape)
    {
        var rng = NewRandom(out int seed);
        int c = shape[^1];
        Input[] inputs = [new(RandomArray(rng, Numel(shape)), shape), new(RandomArray(rng, Numel(shape)), shape),
            new(RandomArray(rng, c), [c]), new(RandomArray(rng, c), [c])];
        ForwardAndBackward($"personalize {Str(shape)} seed={seed}", rng, inputs,
            t => F.PersonalizeResidual(t[0], t[1], t[2], t[3]), d => RefResidual(d[0], d[1], d[2], d[3]));
    }

    [Fact]
    public void ResidualWithZeroGammaReturnsTheHostTokensBitForBit()
    {
        var rng = NewRandom(out int seed);
        using var f = Tensor(RandomArray(rng, 3 * 40, 100), 3, 40);
        using var p = Tensor(RandomArray(rng, 3 * 40, 1e6), 3, 40);
        using var bias = Tensor(RandomArray(rng, 40), 40);
        using var gamma = PFStorer.Graph.Tensor.Zeros([40]);
        using var y = F.PersonalizeResidual(f, p, bias, gamma);
        Assert.True(f.ToFloatArray().SequenceEqual(y.ToFloatArray()), $"γ = 0 changed the tokens (seed {seed})");
    }

    private static double[] RefMapLoss(double[] a, double[] e, int n)
    {
        double sum = 0;
        for (int r = 0; r < a.Length / n; r++)
        {
            double ma = a.Skip(r * n).Take(n).Max(), me = e.Skip(r * n).Take(n).Max();
            for (int i = r * n; i < (r + 1) * n; i++) sum += Math.Pow(a[i] / ma - e[i] / me, 2);
        }
        return [sum / a.Length];
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 257)]
    public void MapLossMatchesFloat64WithTheEndOfTextMapDetached(int rows, int n)
    {
        var rng = NewRandom(out int seed);
        // Attention probabilities: positive, with distinct maxima (a tie would make the max's gradient ambiguous).
        double[] Map() => RandomArray(rng, rows * n).Select(v => 0.55 + 0.45 * v).ToArray();
        Input[] inputs = [new(Map(), [rows, n]), new(Map(), [rows, n], RequiresGrad: false)];
        ForwardAndBackward($"map loss [{rows},{n}] seed={seed}", rng, inputs,
            t => F.AttentionMapLoss(t[0], t[1]), d => RefMapLoss(d[0], d[1], n));
    }

    [Theory]
    [InlineData(2, 6, 9, 8, 2, KeyMaskKind.Random)]               // the block's 8 heads, cross-attention to more reference tokens
    [InlineData(1, 70, 66, 2, 5, KeyMaskKind.Random)]             // odd head dim, queries and keys past one 64-block
    [InlineData(2, 5, 7, 2, 4, KeyMaskKind.WithFullyMaskedRows)]  // a reference row masked entirely: uniform attention
    [InlineData(1, 4, 6, 1, 8, KeyMaskKind.None)]                 // an all-ones mask
    public void PersonalizedAttentionMatchesFloat64(int batch, int tq, int tk, int heads, int d, KeyMaskKind maskKind)
    {
        var rng = NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, batch, tq, tk, heads, d, d, causal: false, maskKind, probKeyCount: 0);
        var (q, k, v) = c.DrawInputs(rng);
        int w = heads * d;
        using var mask = PFStorer.Graph.Tensor.FromArray(c.Mask ?? Enumerable.Repeat(1f, batch * tk).ToArray(), batch, tk);
        Input[] inputs = [new(q, [batch, tq, w]), new(k, [batch, tk, w]), new(v, [batch, tk, w]),
            new(RandomArray(rng, batch * tq * w), [batch, tq, w]), new(RandomArray(rng, w), [w])];
        ForwardAndBackward($"personalized attention of {c}", rng, inputs,
            t => F.PersonalizedAttention(t[0], t[1], t[2], mask, t[3], t[4], heads, c.Scale),
            x => RefResidual(x[3], c.Expected(x[0], x[1], x[2]).O, new double[w], x[4]));
    }
}
