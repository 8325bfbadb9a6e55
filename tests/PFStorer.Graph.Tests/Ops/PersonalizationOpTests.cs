using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// F.PersonalizeResidual (the γ epilogue) and F.AttentionMapLoss (L_Pers) against float64 references and finite differences.
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
}
