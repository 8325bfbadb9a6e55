using PFStorer.Images;
using PFStorer.Graph.Pipeline;
using PFStorer.Graph.Sampling;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>The sampler and the restorer driving the real (tiny) StableSR networks.</summary>
public sealed class TinyModelSamplingTests(FixtureRunTests.TinyRestorer tiny) : IClassFixture<FixtureRunTests.TinyRestorer>
{
    /// <summary>
    /// One tiled step of the tiny model against a direct computation: each window's ε from the same networks called on the
    /// crop alone, blended in float64 with upstream's Gaussian weights (midpoints (w−1)/2 across, h/2 down).
    /// </summary>
    [Theory]
    [InlineData(24, 40)]   // both sides over the 16-pixel tile
    [InlineData(12, 40)]   // one side under, the other over
    public void TiledStepEqualsTheDirectWeightedBlendOfWindowPredictions(int h, int w)
    {
        const int tile = 16, overlap = 8, c = 4;
        var rng = Reference.NewRandom(out int seed);
        using var x = Reference.Tensor(Reference.RandomArray(rng, c * h * w, 1.5), 1, c, h, w);
        using var lq = Reference.Tensor(Reference.RandomArray(rng, c * h * w), 1, c, h, w);
        using var ids = Graph.Models.SimpleTokenizer.Default.TokenizeBatch([""]);
        using var context = tiny.Weights.Model.CondStageModel.Forward(ids);
        var predictor = new StableSRNoisePredictor(tiny.Weights.Model);
        var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(1), new SamplerSettings(tile, overlap));
        float[]? eps = null;
        using var z = sampler.Sample(predictor, x, lq, context, null, new PhiloxNoise(1), s => eps = s.Eps.ToFloatArray());

        const int stride = tile - overlap;
        // The fewest windows n with (n−1)·stride + tile ≥ length; the last one flush with the end.
        int[] Starts(int length) => length <= tile ? [0] : [.. Enumerable.Range(0, (length - tile + stride - 1) / stride).Select(r => r * stride), length - tile];
        int th = Math.Min(tile, h), tw = Math.Min(tile, w);
        var sum = new double[c * h * w];
        var weight = new double[h * w];
        foreach (int left in Starts(w))
            foreach (int top in Starts(h))
            {
                using var xr = x.Slice(2, top, th);
                using var xw = xr.Slice(3, left, tw);
                using var lr = lq.Slice(2, top, th);
                using var lw = lr.Slice(3, left, tw);
                using var xc = xw.Contiguous();
                using var lc = lw.Contiguous();
                using var e = Tensor.Empty([1, c, th, tw]);
                predictor.PredictNoise(xc, lc, context, 0, e);
                var ev = e.ToFloatArray();
                for (int y = 0; y < th; y++)
                    for (int xx = 0; xx < tw; xx++)
                    {
                        double g = Math.Exp(-(xx - (tw - 1) / 2.0) * (xx - (tw - 1) / 2.0) / (tw * tw) / 0.02)
                                 * Math.Exp(-(y - th / 2.0) * (y - th / 2.0) / (th * th) / 0.02);
                        weight[(top + y) * w + left + xx] += g;
                        for (int ch = 0; ch < c; ch++) sum[(ch * h + top + y) * w + left + xx] += g * ev[(ch * th + y) * tw + xx];
                    }
            }
        var expected = sum.Select((v, i) => v / weight[i % (h * w)]).ToArray();
        Assert.NotNull(eps);
        Reference.AssertClose(eps, expected, 1e-6, $"seed {seed}: tiled ε of a {h}x{w} latent");
    }

    [Fact]
    public void SameSeedGivesIdenticalBytesAndAnotherSeedDiffers()
    {
        // 32×24 input, 8-pixel latent tiles: upscaled ×4 to 128×96, a 16×12 latent: tiled sampling from the q_sample start.
        var rng = Reference.NewRandom(out int seed);
        var pixels = new byte[24 * 32 * 3];
        rng.NextBytes(pixels);
        var input = Image.FromU8(pixels, 32, 24, 3);
        var settings = new RestoreSettings { Steps = 2, Seed = 11, TileSize = 8 };
        byte[] Run(RestoreSettings s) => tiny.Restorer.Restore(input, s).U8!;
        var a = Run(settings);
        Assert.Equal(128 * 96 * 3, a.Length);
        Assert.Equal(a, Run(settings));
        var b = Run(settings with { Seed = 12 });
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) > a.Length / 10, $"input seed {seed}: a different seed must change the output");
    }
}
