using System.Text.Json;
using PFStorer.Images;
using PFStorer.Training.Degradations;
using Xunit;

namespace PFStorer.Training.Tests.Degradations;

/// <summary>
/// The light and heavy pipelines: same seed → same parameters and same pixels; parameters follow docs/degradations.md's
/// ranges and probabilities (checked over 2,000 sampled records, never by degrading 2,000 images).
/// </summary>
public class PipelineTests(ITestOutputHelper output)
{
    private const int Draws = 2000;

    [Theory]
    [InlineData(DegradationLevel.Light)]
    [InlineData(DegradationLevel.Heavy)]
    public void SameSeedSameResult(DegradationLevel level)
    {
        ulong seed = (ulong)Random.Shared.NextInt64();
        // Find a seed whose draw does real work, so the comparison is not trivially clean vs clean.
        while (Degradation.Sample(level, seed).Clean) seed++;
        var a = Degradation.Sample(level, seed);
        var b = Degradation.Sample(level, seed);
        Assert.Equal(Json(a), Json(b));
        var input = ImageOpsFixture.Input;
        var x = Degradation.Apply(input, a);
        var y = Degradation.Apply(input, b);
        Assert.True(x.F32.AsSpan().SequenceEqual(y.F32), $"{level}: two applications of seed {seed} differ");
        // A record read back from its JSON sidecar regenerates the same pixels.
        var z = Degradation.Apply(input, JsonSerializer.Deserialize<DegradationParameters>(Json(a), DegradationJson.Options)!);
        Assert.True(x.F32.AsSpan().SequenceEqual(z.F32), $"{level}: record round-tripped through JSON gives other pixels (seed {seed})");
        Assert.Equal((input.Width, input.Height, 3), (x.Width, x.Height, x.Channels));
        Assert.True(ImageOpsFixture.MaxAbsDiff(x, input) > 0, $"{level}: seed {seed} left the image unchanged");
        Assert.NotEqual(Json(a), Json(Degradation.Sample(level, seed + 1)));
    }

    private static string Json(DegradationParameters p) => JsonSerializer.Serialize(p, DegradationJson.Options);

    /// <summary>A count of Bernoulli(p) successes in n draws within ±5 standard deviations plus the stated ±5 % band.</summary>
    private void AssertRate(int hits, int n, double p, string what, ulong seed)
    {
        double rate = hits / (double)n;
        output.WriteLine($"{what}: {rate:P1} (expected {p:P1})");
        double band = Math.Max(0.05 * p, 5 * Math.Sqrt(p * (1 - p) / n));
        Assert.True(Math.Abs(rate - p) <= band, $"{what}: rate {rate:P2}, expected {p:P1} ± {band:P2} (first seed {seed})");
    }

    private static void InRange(double v, double lo, double hi, string what, ulong seed)
        => Assert.True(v >= lo && v <= hi, $"{what} = {v} outside [{lo}, {hi}] (seed {seed})");

    private static void AssertUniform(IReadOnlyList<double> v, double lo, double hi, string what, ulong seed)
    {
        // Mean of U[lo, hi] is the midpoint with standard error (hi − lo)/√(12 n); allow 5 standard errors.
        double mean = v.Average(), se = (hi - lo) / Math.Sqrt(12.0 * v.Count);
        Assert.True(Math.Abs(mean - (lo + hi) / 2) < 5 * se, $"{what}: mean {mean} vs {(lo + hi) / 2} ± {5 * se} (first seed {seed})");
        Assert.True(v.Min() < lo + 0.05 * (hi - lo) && v.Max() > hi - 0.05 * (hi - lo), $"{what}: samples do not span [{lo}, {hi}] (first seed {seed})");
    }

    [Fact]
    public void LightParametersFollowTheSpec()
    {
        ulong first = (ulong)Random.Shared.NextInt64();
        var draws = Enumerable.Range(0, Draws).Select(i => Degradation.Sample(DegradationLevel.Light, first + (ulong)i)).ToList();
        var stages = draws.Select(d => d.First!).ToList();
        Assert.All(draws, d => Assert.True(!d.Clean && d.CameraNoise == null && d.Sinc == null && d.Second == null && d.MedianKernelSize == null && d.MotionBlur == null));
        foreach (var s in stages)
        {
            InRange(s.BlurSigma, 0.1, 10, "σ", first);
            if (s.DownScale is double r) InRange(r, 1, 4, "r", first);
            if (s.NoiseSigma is double delta) InRange(delta, 0, 2, "δ", first);
            InRange(s.JpegQuality, 30, 100, "q", first);
        }
        AssertRate(stages.Count(s => s.NoiseSigma != null), Draws, 0.4, "light noise applied", first);
        AssertRate(stages.Count(s => s.DownScale != null), Draws, 0.7, "light downsampling applied", first);
        AssertUniform(stages.Select(s => s.BlurSigma).ToList(), 0.1, 10, "σ", first);
        AssertUniform(stages.Where(s => s.DownScale != null).Select(s => s.DownScale!.Value).ToList(), 1, 4, "r", first);
        AssertUniform(stages.Where(s => s.NoiseSigma != null).Select(s => s.NoiseSigma!.Value).ToList(), 0, 2, "δ", first);
        // q is U[30, 100) truncated to an integer: every value 30..99 reachable, mean 64.5.
        AssertUniform(stages.Select(s => s.JpegQuality + 0.5).ToList(), 30, 100, "q", first);
    }

    [Fact]
    public void HeavyParametersFollowTheSpec()
    {
        ulong first = (ulong)Random.Shared.NextInt64();
        var draws = Enumerable.Range(0, Draws).Select(i => Degradation.Sample(DegradationLevel.Heavy, first + (ulong)i)).ToList();
        AssertRate(draws.Count(d => d.Clean), Draws, 0.03, "heavy clean (p_HQ)", first);
        var work = draws.Where(d => !d.Clean).ToList();
        Assert.All(draws.Where(d => d.Clean), d => Assert.True(d.First == null && d.CameraNoise == null && d.Sinc == null));
        AssertRate(work.Count(d => d.CameraNoise != null), work.Count, 0.5, "camera noise", first);
        AssertRate(work.Count(d => d.MotionBlur != null), work.Count, 0.05, "motion blur", first);
        AssertRate(work.Count(d => d.MedianKernelSize != null), work.Count, 0.10, "median blur", first);
        AssertRate(work.Count(d => d.Second != null), work.Count, 0.9, "second eq. 3", first);
        Assert.All(work, d => Assert.True(d.First != null && d.Sinc != null, "eq. 3 and the sinc filter always run"));
        var stages = work.Select(d => d.First!).Concat(work.Where(d => d.Second != null).Select(d => d.Second!)).ToList();
        foreach (var s in stages)
        {
            InRange(s.BlurSigma, 0.1, 10, "σ", first);
            if (s.DownScale is double r) InRange(r, 1, 10, "r", first);
            if (s.NoiseSigma is double delta) InRange(delta, 0, 15, "δ", first);
            InRange(s.JpegQuality, 30, 100, "q", first);
        }
        AssertUniform(stages.Where(s => s.DownScale != null).Select(s => s.DownScale!.Value).ToList(), 1, 10, "heavy r", first);
        AssertUniform(stages.Where(s => s.NoiseSigma != null).Select(s => s.NoiseSigma!.Value).ToList(), 0, 15, "heavy δ", first);
        foreach (var d in work)
        {
            Assert.True(d.Sinc!.KernelSize is >= 7 and <= 21 && d.Sinc.KernelSize % 2 == 1, $"sinc size {d.Sinc.KernelSize}");
            InRange(d.Sinc.Cutoff, d.Sinc.KernelSize < 13 ? Math.PI / 3 : Math.PI / 5, Math.PI, "ω", first);
            if (d.MedianKernelSize is int m) Assert.True(m is 3 or 5, $"median size {m}");
            if (d.CameraNoise is { } c)
            {
                InRange(c.RedGain, 1.9, 2.4, "red gain", first);
                InRange(c.BlueGain, 1.5, 1.9, "blue gain", first);
                InRange(c.ShotNoise, 1e-4, 0.012, "shot noise", first);
            }
        }
    }
}
