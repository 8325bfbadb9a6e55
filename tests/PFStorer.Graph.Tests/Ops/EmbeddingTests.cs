using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>Sinusoidal timestep embedding and the token lookup with the learnable placeholder row.</summary>
public class EmbeddingTests
{
    [Theory]
    [InlineData(8, 10000f)]
    [InlineData(32, 10000f)]
    [InlineData(320, 10000f)]
    [InlineData(6, 100f)]
    public void TimestepEmbeddingMatchesFloat64(int dim, float maxPeriod)
    {
        var rng = NewRandom(out int seed);
        var steps = Enumerable.Range(0, 5).Select(_ => (long)rng.Next(0, 1000)).Append(0).Append(999).ToArray();
        int half = dim / 2;
        // Upstream builds freqs and t·freq as float32 tensors before cos/sin; at t ≈ 1000 that rounding (≈6e-5) exceeds
        // the tolerance, so the reference rounds the same two quantities to float and does everything else in float64.
        var expected = new double[steps.Length * dim];
        for (int b = 0; b < steps.Length; b++)
            for (int i = 0; i < half; i++)
            {
                float freq = (float)Math.Exp(-Math.Log(maxPeriod) * i / half);
                double arg = (float)(steps[b] * freq);
                expected[b * dim + i] = Math.Cos(arg);
                expected[b * dim + half + i] = Math.Sin(arg);
            }
        string what = $"timestep embedding dim={dim} period={maxPeriod} seed={seed}";
        using var tLong = Tensor.FromArray(steps, steps.Length);
        using var tFloat = Tensor.FromArray(steps.Select(s => (float)s).ToArray(), steps.Length);
        using var yLong = F.TimestepEmbedding(tLong, dim, maxPeriod);
        using var yFloat = F.TimestepEmbedding(tFloat, dim, maxPeriod);
        AssertClose(yLong.ToFloatArray(), expected, ForwardTolerance, what + " (i64 t)");
        AssertClose(yFloat.ToFloatArray(), expected, ForwardTolerance, what + " (f32 t)");
        Assert.Null(yLong.GradFn);
    }

    private static double[] RefLookup(long[] ids, double[] table, int dim, long overrideId, double[]? overrideRow)
    {
        var y = new double[ids.Length * dim];
        for (int p = 0; p < ids.Length; p++)
            for (int j = 0; j < dim; j++)
                y[p * dim + j] = ids[p] == overrideId && overrideRow != null ? overrideRow[j] : table[ids[p] * dim + j];
        return y;
    }

    [Theory]
    [InlineData(2, 5, 11, 6, true, true)]
    [InlineData(3, 7, 9, 4, true, false)]
    [InlineData(1, 9, 13, 3, false, true)]
    public void EmbeddingWithOverrideRowMatchesFloat64(int batch, int seq, int vocab, int dim, bool tableTrains, bool rowTrains)
    {
        var rng = NewRandom(out int seed);
        int overrideId = rng.Next(vocab);
        // Every sequence holds the placeholder at least once, beside repeated ordinary ids (scatter-add must sum them).
        var ids = Enumerable.Range(0, batch * seq).Select(p => p % seq == 1 ? overrideId : (long)rng.Next(vocab)).ToArray();
        ForwardAndBackward($"embedding [{batch},{seq}] vocab={vocab} dim={dim} override={overrideId} seed={seed}", rng,
            [new(RandomArray(rng, vocab * dim), [vocab, dim], tableTrains), new(RandomArray(rng, dim), [dim], rowTrains)],
            t =>
            {
                using var idt = Tensor.FromArray(ids, batch, seq);
                return F.Embedding(idt, t[0], overrideId, t[1]);
            },
            x => RefLookup(ids, x[0], dim, overrideId, x[1]));
    }

    [Fact]
    public void EmbeddingWithoutOverrideRowReadsAndTrainsTheTable()
    {
        var rng = NewRandom(out int seed);
        int vocab = 8, dim = 5;
        var ids = Enumerable.Range(0, 12).Select(_ => (long)rng.Next(vocab)).ToArray();
        long overrideId = ids[3]; // given, but with no row: those positions are ordinary table reads
        ForwardAndBackward($"embedding no override row seed={seed}", rng, [new(RandomArray(rng, vocab * dim), [vocab, dim])],
            t =>
            {
                using var idt = Tensor.FromArray(ids, 3, 4);
                return F.Embedding(idt, t[0], (int)overrideId);
            },
            x => RefLookup(ids, x[0], dim, -1, null));
    }

    [Fact]
    public void EmbeddingRejectsIdsOutsideTheVocabulary()
    {
        using var table = Tensor.Zeros([4, 2]);
        using var ids = Tensor.FromArray(new long[] { 1, 4 }, 1, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => F.Embedding(ids, table).Dispose());
        Assert.Contains("token id 4", e.Message);
    }
}
