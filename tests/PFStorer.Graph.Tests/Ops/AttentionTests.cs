using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Graph.Tests.Ops;

public enum KeyMaskKind
{
    None,
    /// <summary>Each key masked with probability 0.3.</summary>
    Random,
    /// <summary>Random, plus rows whose every visible key is masked: the last batch entry entirely, or (causal) the first three keys.</summary>
    WithFullyMaskedRows,
}

public enum AttentionLoss { Output, Probs }

/// <summary>
/// F.Attention (CPU) against a float64 reference written here: forward outputs (o, lse, probs) to 1e-5 normalised error,
/// gradients w.r.t. q, k, v to 1e-3 against central differences of the same reference, for losses Σ w·o and Σ w·probs.
/// </summary>
public sealed class AttentionTests
{
    [Theory]
    [InlineData(2, 77, 77, 1, 64, 64, false, KeyMaskKind.None, 0)]            // self-attention, one head
    [InlineData(2, 130, 77, 5, 64, 64, false, KeyMaskKind.Random, 2)]         // cross-attention to 77 tokens, A_*/A_EOT maps
    [InlineData(1, 37, 150, 2, 16, 24, false, KeyMaskKind.Random, 1)]         // Dv ≠ D, Tk spans three key blocks
    [InlineData(2, 65, 129, 5, 8, 5, false, KeyMaskKind.WithFullyMaskedRows, 2)] // odd Dv (scalar tail), a fully masked entry
    [InlineData(2, 77, 77, 2, 16, 16, true, KeyMaskKind.None, 1)]             // OpenCLIP text: causal 77×77
    [InlineData(1, 150, 150, 1, 16, 8, true, KeyMaskKind.WithFullyMaskedRows, 2)] // causal across blocks, fully masked first rows
    [InlineData(3, 1, 5, 2, 8, 8, false, KeyMaskKind.Random, 1)]              // one query
    public void Forward_MatchesFloat64Reference(int batch, int tq, int tk, int heads, int d, int dv, bool causal, KeyMaskKind maskKind, int probKeys)
    {
        var rng = Reference.NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, batch, tq, tk, heads, d, dv, causal, maskKind, probKeys);
        var (q, k, v) = c.DrawInputs(rng);
        var expected = c.Expected(q, k, v);

        using var qt = Reference.Tensor(q, batch, tq, heads * d);
        using var kt = Reference.Tensor(k, batch, tk, heads * d);
        using var vt = Reference.Tensor(v, batch, tk, heads * dv);
        using var mask = c.MaskTensor();
        var args = c.Args(mask);
        var (o, probs) = F.Attention(qt, kt, vt, args);
        using (o)
        using (probs)
        {
            Reference.AssertClose(o.ToFloatArray(), expected.O, OpCheck.ForwardTolerance, $"o of {c}");
            Assert.Equal(probKeys > 0, probs != null);
            if (probs != null) Reference.AssertClose(probs.ToFloatArray(), expected.Probs, OpCheck.ForwardTolerance, $"probs of {c}");
        }

        // lse is only observable through the backend; F keeps it for the backward.
        using var o2 = Tensor.Empty([batch, tq, heads * dv]);
        using var lse = Tensor.Empty([batch, heads, tq]);
        using var probs2 = probKeys > 0 ? Tensor.Empty([batch, tq, probKeys]) : null;
        CpuBackend.Instance.Attention(qt, kt, vt, o2, lse, probs2, args);
        c.AssertLse(lse.ToFloatArray(), expected.Lse);
    }

    /// <summary>
    /// Logits around ±100, beyond exp's f32 range (88.7): only a max-subtracted online softmax survives, and the running max
    /// jumps between key blocks. The tolerance is 1e-4 because each f32 logit of magnitude 100 carries ~1e-5 rounding.
    /// </summary>
    [Fact]
    public void Forward_LargeLogits_MatchFloat64Reference()
    {
        var rng = Reference.NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, 1, 70, 150, 2, 16, 16, causal: false, KeyMaskKind.Random, probKeyCount: 2);
        var (q, k, v) = c.DrawInputs(rng);
        for (int i = 0; i < q.Length; i++) q[i] *= 30;
        var expected = c.Expected(q, k, v);
        using var qt = Reference.Tensor(q, 1, 70, 32);
        using var kt = Reference.Tensor(k, 1, 150, 32);
        using var vt = Reference.Tensor(v, 1, 150, 32);
        using var mask = c.MaskTensor();
        var (o, probs) = F.Attention(qt, kt, vt, c.Args(mask));
        using (o)
        using (probs)
        {
            Reference.AssertClose(o.ToFloatArray(), expected.O, 1e-4, $"o of {c}, q×30");
            Reference.AssertClose(probs!.ToFloatArray(), expected.Probs, 1e-4, $"probs of {c}, q×30");
        }
    }

    [Theory]
    [InlineData(2, 5, 7, 2, 8, 4, false, KeyMaskKind.Random, 2, AttentionLoss.Output)]
    [InlineData(2, 5, 7, 2, 8, 4, false, KeyMaskKind.Random, 2, AttentionLoss.Probs)]
    [InlineData(1, 65, 66, 1, 8, 4, false, KeyMaskKind.None, 1, AttentionLoss.Output)] // two query and two key blocks
    [InlineData(1, 65, 66, 1, 8, 4, false, KeyMaskKind.None, 1, AttentionLoss.Probs)]
    [InlineData(2, 9, 9, 2, 8, 8, true, KeyMaskKind.WithFullyMaskedRows, 2, AttentionLoss.Output)]
    [InlineData(2, 9, 9, 2, 8, 8, true, KeyMaskKind.WithFullyMaskedRows, 2, AttentionLoss.Probs)]
    [InlineData(2, 6, 5, 5, 16, 8, false, KeyMaskKind.WithFullyMaskedRows, 1, AttentionLoss.Output)]
    [InlineData(2, 6, 5, 5, 16, 8, false, KeyMaskKind.WithFullyMaskedRows, 1, AttentionLoss.Probs)]
    [InlineData(1, 66, 65, 1, 8, 4, true, KeyMaskKind.Random, 2, AttentionLoss.Output)] // causal across blocks
    public void Backward_MatchesFiniteDifferences(int batch, int tq, int tk, int heads, int d, int dv, bool causal, KeyMaskKind maskKind,
        int probKeys, AttentionLoss loss)
    {
        var rng = Reference.NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, batch, tq, tk, heads, d, dv, causal, maskKind, probKeys);
        var (q, k, v) = c.DrawInputs(rng);
        using var mask = c.MaskTensor();
        // The loss is Σ w·o or Σ w·probs: the other output is dropped, so its gradient slot stays empty on the tape.
        OpCheck.ForwardAndBackward($"{loss} of {c}", rng,
            [new(q, [batch, tq, heads * d]), new(k, [batch, tk, heads * d]), new(v, [batch, tk, heads * dv])],
            t =>
            {
                var (o, probs) = F.Attention(t[0], t[1], t[2], c.Args(mask));
                if (loss == AttentionLoss.Output)
                {
                    probs?.Dispose();
                    return o;
                }
                o.Dispose();
                return probs!;
            },
            x =>
            {
                var expected = c.Expected(x[0], x[1], x[2]);
                return loss == AttentionLoss.Output ? expected.O : expected.Probs;
            });
    }

    /// <summary>
    /// A loss on o and probs at once (dO and dProbs both non-zero), through the backend: checks the D_i term that mixes them,
    /// and that asking for a subset of the gradients gives bit-identical values (the skipped work really is independent).
    /// </summary>
    [Theory]
    [InlineData(2, 7, 11, 2, 8, 8, false, KeyMaskKind.WithFullyMaskedRows)]
    [InlineData(1, 65, 67, 1, 4, 8, true, KeyMaskKind.Random)]
    public void Backward_OutputAndProbsLoss_MatchesFiniteDifferences(int batch, int tq, int tk, int heads, int d, int dv, bool causal, KeyMaskKind maskKind)
    {
        var rng = Reference.NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, batch, tq, tk, heads, d, dv, causal, maskKind, probKeyCount: 2);
        var (q, k, v) = c.DrawInputs(rng);
        var oWeights = Reference.RandomArray(rng, batch * tq * heads * dv);
        var pWeights = Reference.RandomArray(rng, batch * tq * 2);

        using var qt = Reference.Tensor(q, batch, tq, heads * d);
        using var kt = Reference.Tensor(k, batch, tk, heads * d);
        using var vt = Reference.Tensor(v, batch, tk, heads * dv);
        using var mask = c.MaskTensor();
        var args = c.Args(mask);
        var be = CpuBackend.Instance;
        using var o = Tensor.Empty([batch, tq, heads * dv]);
        using var lse = Tensor.Empty([batch, heads, tq]);
        using var probs = Tensor.Empty([batch, tq, 2]);
        be.Attention(qt, kt, vt, o, lse, probs, args);
        using var dO = Reference.Tensor(oWeights, batch, tq, heads * dv);
        using var dP = Reference.Tensor(pWeights, batch, tq, 2);
        using var dq = Tensor.Empty(qt.Shape);
        using var dk = Tensor.Empty(kt.Shape);
        using var dv2 = Tensor.Empty(vt.Shape);
        be.AttentionBackward(qt, kt, vt, o, lse, dO, dP, dq, dk, dv2, args);
        float[] dqAll = dq.ToFloatArray(), dkAll = dk.ToFloatArray(), dvAll = dv2.ToFloatArray();
        c.AssertGradients(q, k, v, oWeights, pWeights, dqAll, dkAll, dvAll, "o and probs loss");

        be.AttentionBackward(qt, kt, vt, o, lse, dO, dP, dq, null, null, args);
        Assert.Equal(dqAll, dq.ToFloatArray());
        be.AttentionBackward(qt, kt, vt, o, lse, dO, dP, null, dk, null, args);
        Assert.Equal(dkAll, dk.ToFloatArray());
        be.AttentionBackward(qt, kt, vt, o, lse, dO, dP, null, null, dv2, args);
        Assert.Equal(dvAll, dv2.ToFloatArray());
    }

    /// <summary>
    /// The tape holds its own handle on the key mask: a caller may dispose its mask right after the forward (the
    /// personalization blocks do), and backward must still see the mask the forward met — not the freed block, which the
    /// next same-size allocation (here a mask of ones) takes over from the pool. Both runs must agree bit for bit.
    /// </summary>
    [Fact]
    public void Backward_AfterTheCallerDisposedTheMask_UsesTheMaskTheForwardMet()
    {
        var rng = Reference.NewRandom(out int seed);
        var c = AttentionCase.Draw(rng, seed, 2, 9, 13, 2, 8, 8, causal: false, KeyMaskKind.Random, probKeyCount: 0);
        var (q, k, v) = c.DrawInputs(rng);
        var weights = Reference.RandomArray(rng, 2 * 9 * 2 * 8);

        float[][] Gradients(bool disposeMaskAfterForward)
        {
            using var qt = Reference.Tensor(q, 2, 9, 16);
            using var kt = Reference.Tensor(k, 2, 13, 16);
            using var vt = Reference.Tensor(v, 2, 13, 16);
            foreach (var t in new[] { qt, kt, vt }) t.RequiresGrad = true;
            var mask = c.MaskTensor()!;
            var (o, _) = F.Attention(qt, kt, vt, c.Args(mask));
            Tensor? reuse = null;
            if (disposeMaskAfterForward)
            {
                mask.Dispose();
                reuse = Tensor.FromArray(Enumerable.Repeat(1f, 2 * 13).ToArray(), 2, 13);
            }
            using (o)
            using (var g = Reference.Tensor(weights, o.ShapeArray()))
                Tape.Backward(o, g);
            reuse?.Dispose();
            if (!disposeMaskAfterForward) mask.Dispose();
            var grads = new[] { qt, kt, vt }.Select(t => t.Grad!.ToFloatArray()).ToArray();
            foreach (var t in new[] { qt, kt, vt }) t.Grad!.Dispose();
            return grads;
        }

        var kept = Gradients(disposeMaskAfterForward: false);
        var disposed = Gradients(disposeMaskAfterForward: true);
        for (int i = 0; i < 3; i++) Assert.True(kept[i].AsSpan().SequenceEqual(disposed[i]), $"gradient {"qkv"[i]} changed once the caller disposed the mask ({c})");
    }

    [Fact]
    public void BadInputs_ThrowNamingTheProblem()
    {
        using var q = Tensor.Zeros([2, 3, 8]);
        using var k = Tensor.Zeros([2, 4, 8]);
        using var v = Tensor.Zeros([2, 4, 8]);
        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => F.Attention(q, k, v, new AttentionArgs(2, 0.5f, ProbKeys: [0, 4])));
        Assert.Contains("probability key 4", outside.Message);
        using var mask = Tensor.Zeros([2, 3]);
        var wrongMask = Assert.Throws<ArgumentException>(() => F.Attention(q, k, v, new AttentionArgs(2, 0.5f, KeyMask: mask)));
        Assert.Contains("key mask [2,3]", wrongMask.Message);
    }
}
