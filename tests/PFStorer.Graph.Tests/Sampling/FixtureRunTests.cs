using PFStorer.Graph.Pipeline;
using PFStorer.Graph.Sampling;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>The fixture's noise draws, by the stream each one stands for (noise.stepK is in execution order: K = N−1−k).</summary>
internal sealed class FixtureNoise(FixtureFile run, int steps) : INoiseSource
{
    public void Draw(Tensor y, ulong stream)
    {
        string key = stream switch
        {
            NoiseStreams.PosteriorSample => "noise.posterior_sample",
            NoiseStreams.Start => "noise.x_T",
            _ => $"noise.step{steps - 1 - (int)(stream - NoiseStreams.Step(0))}",
        };
        using var t = run.Tensor(key);
        y.Backend.Copy(t, y);
    }
}

/// <summary>
/// tests/fixtures/sampling end to end on the tiny model (fp32 CPU, 4 respaced steps, supplied noise): every intermediate
/// latent and the final images against upstream, max relative error ≤ 1e-4 (max |a − e| / max |e| per tensor).
/// </summary>
public sealed class FixtureRunTests(FixtureRunTests.TinyRestorer tiny, ITestOutputHelper output) : IClassFixture<FixtureRunTests.TinyRestorer>
{
    private static readonly FixtureFile Run = new("sampling", "sampling.safetensors");

    public sealed class TinyRestorer : IDisposable
    {
        public StableSRWeights Weights { get; }
        public Restorer Restorer { get; }

        public TinyRestorer()
        {
            Weights = StableSRWeights.Load(Fixtures.Path("stablesr-tiny", "model.safetensors"), Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors"));
            Restorer = new Restorer(Weights, DeviceChoice.Cpu);   // owns the weights from here
        }

        public void Dispose() => Restorer.Dispose();
    }

    private void Check(Tensor actual, string key)
    {
        var a = actual.ToFloatArray();
        var e = Run.Doubles(key);
        Assert.Equal(e.Length, a.Length);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < a.Length; i++)
        {
            maxErr = Math.Max(maxErr, float.IsFinite(a[i]) ? Math.Abs(a[i] - e[i]) : double.PositiveInfinity);
            maxRef = Math.Max(maxRef, Math.Abs(e[i]));
        }
        double rel = maxErr / maxRef;
        output.WriteLine($"{key,-24} max relative error {rel:E2}");
        Assert.True(rel <= 1e-4, $"{key}: max relative error {rel:E3} > 1e-4");
    }

    [Fact]
    public void EveryIntermediateAndTheFinalImagesMatchUpstream()
    {
        var settings = new RestoreSettings { Steps = 4, Cfg = 1, Prompt = "", DecoderWeight = 0.5f, TileSize = 64, ColorFix = ColorFixMode.None };
        using var lq = Run.Tensor("init_image");
        int step = 0;
        var traced = new List<string>();
        using var nofix = tiny.Restorer.RestorePatch(lq, settings, new FixtureNoise(Run, 4), s =>
        {
            Assert.Equal(Run.Longs($"step{step}.t_model")[0], s.Timestep);
            Check(s.XIn, $"step{step}.x_in");
            Check(s.Eps, $"step{step}.eps");
            Check(s.X0, $"step{step}.x0_pred");
            Check(s.Mean, $"step{step}.model_mean");
            Check(s.XOut, $"step{step}.x_out");
            step++;
        }, (name, t) => { traced.Add(name); Check(t, name); });
        Assert.Equal(4, step);
        Assert.Equal(["init_latent", "samples", "decoded"], traced);

        using var decoded = Run.Tensor("decoded");
        foreach (var (mode, name) in new[] { (ColorFixMode.None, "nofix"), (ColorFixMode.AdaIn, "adain"), (ColorFixMode.Wavelet, "wavelet") })
        {
            using var fixedImage = mode == ColorFixMode.None ? nofix.Share() : ColorFix.Apply(mode, nofix, lq);
            var unit = fixedImage.ToFloatArray().Select(v => Math.Clamp((v + 1f) / 2f, 0f, 1f)).ToArray();
            using var final = Tensor.FromArray(unit, 1, 3, 128, 128);
            Check(final, $"final.{name}");
            // 8-bit output truncates as numpy does; float differences near an integer boundary may move a value by one level.
            var bytes = Restorer.ToImage(unit, 128, 128).U8!;
            var expected = Run.Doubles($"final_uint8.{name}");
            int off = bytes.Where((b, i) => b != expected[i]).Count();
            Assert.All(bytes.Select((b, i) => Math.Abs(b - expected[i])), d => Assert.True(d <= 1, $"final_uint8.{name}: a level differs by {d}"));
            output.WriteLine($"final_uint8.{name,-16} {off} of {bytes.Length} values one level off");
            Assert.True(off <= bytes.Length / 1000, $"final_uint8.{name}: {off} values off by one level");
        }
    }

    [Fact]
    public void StructConditionIsRecomputedFromTheCleanLqLatentAtEachOriginalTimestep()
    {
        var weights = tiny.Weights;
        using var zLq = Run.Tensor("init_latent");
        for (int step = 0; step < 4; step++)
        {
            using var t = Tensor.FromArray(Run.Longs($"step{step}.t_model"), 1);
            using var features = weights.Model.StructCondStageModel.Forward(zLq, t);
            foreach (int width in new[] { 16, 8, 4 }) Check(features[width], $"step{step}.struct_cond.{width}");
        }
    }
}
