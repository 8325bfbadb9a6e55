using PFStorer.Graph.Sampling;
using PFStorer.Kernels.Cpu;
using PFStorer.Kernels.Memory;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

public class TiledSamplingTests
{
    /// <summary>
    /// Direct float64 reference of sample_canvas's noise prediction, written from the upstream loop (grid counts by the
    /// `cur = max(r·T − r·O, 0) + T` walk, last tile flush with the end, Gaussian weights with midpoints (T−1)/2 across and
    /// T/2 down, Σ ε·W / Σ W), with the one fix that an axis shorter than T gets a single window of its own length.
    /// </summary>
    private static double[] ReferenceEps(double[] x, double[] lq, double[][] contexts, double guidance, long t, int c, int h, int w, int tile, int overlap)
    {
        static int[] Starts(int length, int tile, int overlap)
        {
            if (length <= tile) return [0];
            int grid = 0, cur = 0;
            while (cur < length) { cur = Math.Max(grid * tile - overlap * grid, 0) + tile; grid++; }
            return Enumerable.Range(0, grid).Select(r => r == grid - 1 ? length - tile : Math.Max(r * tile - overlap * r, 0)).ToArray();
        }
        int th = Math.Min(tile, h), tw = Math.Min(tile, w);
        var sum = new double[c * h * w];
        var weightSum = new double[h * w];
        foreach (int left in Starts(w, tile, overlap))
            foreach (int top in Starts(h, tile, overlap))
            {
                double[] Crop(double[] a) { var r = new double[c * th * tw]; for (int ch = 0; ch < c; ch++) for (int y = 0; y < th; y++) for (int xx = 0; xx < tw; xx++) r[(ch * th + y) * tw + xx] = a[(ch * h + top + y) * w + left + xx]; return r; }
                var xt = Crop(x);
                var lt = Crop(lq);
                var epsPos = TileSensitiveModel.Reference(xt, lt, contexts[^1], t, c, th, tw);
                var eps = epsPos;
                if (contexts.Length == 2)
                {
                    var epsNeg = TileSensitiveModel.Reference(xt, lt, contexts[0], t, c, th, tw);
                    eps = epsNeg.Select((v, i) => v + guidance * (epsPos[i] - v)).ToArray();
                }
                for (int y = 0; y < th; y++)
                    for (int xx = 0; xx < tw; xx++)
                    {
                        double gx = Math.Exp(-(xx - (tw - 1) / 2.0) * (xx - (tw - 1) / 2.0) / (tw * tw) / 0.02) / Math.Sqrt(2 * Math.PI * 0.01);
                        double gy = Math.Exp(-(y - th / 2.0) * (y - th / 2.0) / (th * th) / 0.02) / Math.Sqrt(2 * Math.PI * 0.01);
                        weightSum[(top + y) * w + left + xx] += gx * gy;
                        for (int ch = 0; ch < c; ch++) sum[(ch * h + top + y) * w + left + xx] += eps[(ch * th + y) * tw + xx] * gx * gy;
                    }
            }
        return sum.Select((v, i) => v / weightSum[i % (h * w)]).ToArray();
    }

    [Theory]
    [InlineData(64, 64, 64, 32, 1f)]      // exactly one tile: no blending
    [InlineData(96, 160, 64, 32, 1f)]     // both sides over the tile, default layout
    [InlineData(40, 100, 64, 32, 1f)]     // one side under, the other over (upstream crashes here)
    [InlineData(100, 40, 64, 32, 4f)]     // the transpose, with both CFG branches
    [InlineData(24, 41, 16, 8, 4f)]       // small tiles, odd width
    public void TiledNoisePredictionEqualsTheDirectWeightedBlend(int h, int w, int tile, int overlap, float guidance)
    {
        var rng = Reference.NewRandom(out int seed);
        const int c = 4;
        var x = Reference.RandomArray(rng, c * h * w, 2);
        var lq = Reference.RandomArray(rng, c * h * w);
        double[][] contexts = guidance == 1f ? [Reference.RandomArray(rng, 3 * 8)] : [Reference.RandomArray(rng, 3 * 8), Reference.RandomArray(rng, 3 * 8)];
        using var xT = Reference.Tensor(x, 1, c, h, w);
        using var lqT = Reference.Tensor(lq, 1, c, h, w);
        using var pos = Reference.Tensor(contexts[^1], 1, 3, 8);
        using var neg = Reference.Tensor(contexts[0], 1, 3, 8);
        var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(2), new SamplerSettings(tile, overlap, guidance));
        int checkedSteps = 0;
        using var z0 = sampler.Sample(new TileSensitiveModel(), xT, lqT, pos, guidance == 1f ? null : neg, new PhiloxNoise((ulong)seed), step =>
        {
            var expected = ReferenceEps(Reference.ToDouble(step.XIn.ToFloatArray()), lq, contexts, guidance, step.Timestep, c, h, w, tile, overlap);
            Reference.AssertClose(step.Eps.ToFloatArray(), expected, 1e-6, $"seed {seed}, {h}x{w} tile {tile}/{overlap}, cfg {guidance}, step {step.Index}");
            checkedSteps++;
        });
        Assert.Equal(2, checkedSteps);
        Assert.Equal(xT.Shape.ToArray(), z0.Shape.ToArray());
    }

    [Fact]
    public void WholeLoopMatchesAFloat64ReverseProcess()
    {
        var rng = Reference.NewRandom(out int seed);
        const int c = 4, h = 12, w = 20, tile = 8, overlap = 4;
        var schedule = DiffusionSchedule.UpstreamFloat32(5);
        var x = Reference.RandomArray(rng, c * h * w, 1);
        var lq = Reference.RandomArray(rng, c * h * w);
        var ctx = Reference.RandomArray(rng, 16);
        using var xT = Reference.Tensor(x, 1, c, h, w);
        using var lqT = Reference.Tensor(lq, 1, c, h, w);
        using var pos = Reference.Tensor(ctx, 1, 2, 8);
        var sampler = new DdpmSampler(schedule, new SamplerSettings(tile, overlap));
        using var z0 = sampler.Sample(new TileSensitiveModel(), xT, lqT, pos, null, new PhiloxNoise((ulong)seed));

        var cur = (double[])x.Clone();
        for (int k = schedule.Steps - 1; k >= 0; k--)
        {
            var eps = ReferenceEps(cur, lq, [ctx], 1, schedule.Timesteps[k], c, h, w, tile, overlap);
            var noise = new float[cur.Length];
            Philox.StandardNormal(noise, (ulong)seed, NoiseStreams.Step(k));
            double std = k == 0 ? 0 : Math.Exp(0.5 * schedule.PosteriorLogVarianceClipped[k]);
            for (int i = 0; i < cur.Length; i++)
            {
                double x0 = schedule.SqrtRecipAlphasCumprod[k] * cur[i] - schedule.SqrtRecipm1AlphasCumprod[k] * eps[i];
                cur[i] = schedule.PosteriorMeanCoef1[k] * x0 + schedule.PosteriorMeanCoef2[k] * cur[i] + std * noise[i];
            }
        }
        Reference.AssertClose(z0.ToFloatArray(), cur, 1e-5, $"seed {seed}: final latent");
    }

    [Fact]
    public void SameSeedGivesIdenticalBytesAndAnotherSeedDiffers()
    {
        var schedule = DiffusionSchedule.UpstreamFloat32(3);
        var sampler = new DdpmSampler(schedule, new SamplerSettings(8, 4, 2f));
        float[] Run(ulong seed)
        {
            using var xT = Tensor.Empty([1, 4, 10, 14]);
            using var lq = Tensor.Full([1, 4, 10, 14], 0.25f);
            using var pos = Tensor.Full([1, 2, 4], 0.5f);
            using var neg = Tensor.Full([1, 2, 4], -0.5f);
            var noise = new PhiloxNoise(seed);
            noise.Draw(xT, NoiseStreams.Start);
            using var z = sampler.Sample(new TileSensitiveModel(), xT, lq, pos, neg, noise);
            return z.ToFloatArray();
        }
        var a = Run(7);
        Assert.Equal(a, Run(7));
        var b = Run(8);
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) > a.Length / 2, "a different seed must change the output");
    }
}

[CollectionDefinition(nameof(PoolCounterCollection), DisableParallelization = true)]
public sealed class PoolCounterCollection;

/// <summary>Reads the shared host pool's counters, so it runs alone (no other test allocating meanwhile).</summary>
[Collection(nameof(PoolCounterCollection))]
public class SamplingLoopAllocationTests
{
    [Theory]
    [InlineData(16, 16, 1f)]
    [InlineData(20, 36, 3f)]   // tiled, guided
    public void StepsAfterTheFirstTakeNoNewMemory(int h, int w, float guidance)
    {
        var pool = HostMemoryPool.Shared;
        var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(6), new SamplerSettings(16, 8, guidance));
        using var xT = Tensor.Full([1, 4, h, w], 0.1f);
        using var lq = Tensor.Full([1, 4, h, w], 0.2f);
        using var pos = Tensor.Full([1, 2, 4], 0.5f);
        using var neg = Tensor.Full([1, 2, 4], -0.5f);
        var backing = new List<long>();
        var inUse = new List<long>();
        using var z = sampler.Sample(new TileSensitiveModel(), xT, lq, pos, guidance == 1f ? null : neg, new PhiloxNoise(1), _ =>
        {
            backing.Add(pool.Counters.BackingAllocations);
            inUse.Add(pool.Counters.BytesInUse);
        });
        Assert.Equal(6, backing.Count);
        Assert.All(backing, b => Assert.Equal(backing[0], b));
        Assert.All(inUse, b => Assert.Equal(inUse[0], b));
    }
}
