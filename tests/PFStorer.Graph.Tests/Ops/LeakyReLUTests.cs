using PFStorer.Graph.Autograd;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>F.LeakyReLU (RRDB's activation) and its backward against float64 and finite differences.</summary>
public class LeakyReLUTests
{
    [Theory]
    [InlineData(0.2f, 257)]
    [InlineData(0.01f, 64)]
    public void ForwardAndBackwardMatchFloat64(float slope, int n)
    {
        var rng = NewRandom(out int seed);
        // Keep inputs away from 0, where the function has a kink and finite differences straddle both sides.
        var xd = RandomArray(rng, n, 2.0).Select(v => Math.Abs(v) < 1e-3 ? 0.5 : v).ToArray();
        string what = $"leaky_relu slope {slope} n {n} seed={seed}";
        Func<double[][], double[]> reference = inp => inp[0].Select(v => v >= 0 ? v : slope * v).ToArray();

        using var x = Reference.Tensor(xd, n);
        x.RequiresGrad = true;
        using var y = F.LeakyReLU(x, slope);
        AssertClose(y.ToFloatArray(), reference([xd]), 1e-6, what + " forward");

        var weights = RandomArray(rng, n);
        using (var g = Reference.Tensor(weights, n)) Tape.Backward(y, g);
        using var dx = x.Grad!;
        AssertClose(dx.ToFloatArray(), NumericGradient(reference, [xd], weights, 0), 1e-6, what + " dx");
    }
}
