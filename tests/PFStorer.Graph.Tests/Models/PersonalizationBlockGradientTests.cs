using PFStorer.Graph.Autograd;
using PFStorer.Graph.Models;
using PFStorer.Graph.Tests.Ops;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// The whole PersonalizationBlock (its self-attention, the mask-gated cross-attention to the reference tokens, the GEGLU
/// feed-forward and the γ epilogue) through the engine's ops and tape, against <see cref="PersonalizationBlockReference"/>:
/// the f32 forward against the float64 forward, and every gradient (each block parameter, γ, the tokens and the reference
/// tokens) against central differences of the float64 forward.
/// </summary>
public class PersonalizationBlockGradientTests
{
    private const int Dim = 16;

    [Theory]
    [InlineData(2, 5, 6, 1f)]
    [InlineData(1, 7, 9, 0.5f)]   // λatt scales γ at inference
    public void ForwardAndEveryGradientMatchFloat64FiniteDifferences(int batch, int tokens, int refTokens, float lambdaAtt)
    {
        var rng = NewRandom(out int seed);
        string what = $"block B{batch} T{tokens} Tr{refTokens} λatt {lambdaAtt} (seed {seed})";
        using var block = new PersonalizationBlock("test", Dim);
        var paths = block.NamedParameters().Select(p => p.Path).ToArray();
        var values = block.NamedParameters().Select(p => DrawParameter(rng, p.Path, (int)p.Param.Numel)).ToArray();
        foreach (var ((_, p), v) in block.NamedParameters().Zip(values)) p.Assign(Tensor(v, p.ShapeArray()));

        var x = RandomArray(rng, batch * tokens * Dim);
        var r = RandomArray(rng, batch * refTokens * Dim);
        var mask = DrawMask(rng, batch, refTokens);
        var reference = new PersonalizationBlockReference(batch, tokens, refTokens, Dim);
        // inputs = [x, r, parameters...]; γ enters scaled by λatt, as PersonalizationBlock.Apply does.
        double[] Forward(double[][] inputs)
        {
            var p = paths.Select((path, i) => (path, v: path == "gamma" ? inputs[2 + i].Select(g => g * lambdaAtt).ToArray() : inputs[2 + i]))
                .ToDictionary(e => e.path, e => e.v);
            return reference.Apply(p, inputs[0], inputs[1], mask);
        }
        double[][] all = [x, r, .. values];

        using var xt = Tensor(x, batch, tokens, Dim);
        using var rt = Tensor(r, batch, refTokens, Dim);
        using var maskT = PFStorer.Graph.Tensor.FromArray(mask, batch, refTokens);
        xt.RequiresGrad = rt.RequiresGrad = true;
        var weights = RandomArray(rng, batch * tokens * Dim);
        using (var y = block.Apply(xt, rt, maskT, lambdaAtt))
        {
            AssertClose(y.ToFloatArray(), Forward(all), OpCheck.ForwardTolerance, $"{what} forward");
            using var g = Tensor(weights, y.ShapeArray());
            Tape.Backward(y, g);
        }

        try
        {
            AssertClose(xt.Grad!.ToFloatArray(), NumericGradient(Forward, all, weights, 0), OpCheck.GradTolerance, $"{what} dx");
            AssertClose(rt.Grad!.ToFloatArray(), NumericGradient(Forward, all, weights, 1), OpCheck.GradTolerance, $"{what} dr");
            foreach (var ((path, p), i) in block.NamedParameters().Select((e, i) => (e, i)))
            {
                Assert.True(p.Tensor.Grad != null, $"{what}: {path} has no gradient");
                AssertClose(p.Tensor.Grad!.ToFloatArray(), NumericGradient(Forward, all, weights, 2 + i), OpCheck.GradTolerance, $"{what} d{path}");
            }
        }
        finally
        {
            xt.Grad?.Dispose();
            rt.Grad?.Dispose();
        }
    }

    // LayerNorm weights near 1, Linear weights at PyTorch's init scale, biases and γ of order one (γ = 0 would hide
    // every block gradient).
    private static double[] DrawParameter(Random rng, string path, int n)
    {
        if (path.StartsWith("norm") && path.EndsWith(".weight")) return RandomArray(rng, n, 0.5).Select(v => 1 + v).ToArray();
        if (path.StartsWith("norm") || path == "gamma") return RandomArray(rng, n);
        double fanIn = path.StartsWith("ff.net.2") ? 4 * Dim : Dim;
        return RandomArray(rng, n, 1 / Math.Sqrt(fanIn));
    }

    // Keys kept with probability 0.6, at least two per row (one kept key makes the softmax constant).
    private static float[] DrawMask(Random rng, int batch, int refTokens)
    {
        var mask = new float[batch * refTokens];
        for (int b = 0; b < batch; b++)
            while (mask.AsSpan(b * refTokens, refTokens).Count(1f) < 2)
                for (int j = 0; j < refTokens; j++) mask[b * refTokens + j] = rng.NextDouble() < 0.4 ? 0f : 1f;
        return mask;
    }
}
