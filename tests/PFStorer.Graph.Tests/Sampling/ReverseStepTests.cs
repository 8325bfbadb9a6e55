using PFStorer.Graph.Sampling;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>The reverse-step math and the colour fixes against tests/fixtures/sampling (upstream float32 run, 4 respaced steps).</summary>
public class ReverseStepTests
{
    private static readonly FixtureFile Run = new("sampling", "sampling.safetensors");

    /// <summary>max |a − e| / max |e|: the fixture's "max relative error" for tensors whose values cross zero.</summary>
    private static double MaxRelativeError(float[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!float.IsFinite(actual[i])) return double.PositiveInfinity;
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        return maxDiff / maxRef;
    }

    internal static void AssertMatches(Tensor actual, string key, double tolerance = 1e-4)
    {
        double err = MaxRelativeError(actual.ToFloatArray(), Run.Doubles(key));
        Assert.True(err <= tolerance, $"{key}: max relative error {err:E2} > {tolerance:E0}");
    }

    [Fact]
    public void EveryFixtureStepFollowsFromItsInputAndNoisePrediction()
    {
        var schedule = DiffusionSchedule.UpstreamFloat32(4);
        Assert.Equal(Run.Longs("respaced_timesteps"), schedule.Timesteps);
        for (int step = 0; step < 4; step++)
        {
            int k = (int)Run.Longs($"step{step}.ts")[0];
            Assert.Equal(Run.Longs($"step{step}.t_model")[0], schedule.Timesteps[k]);
            var c = schedule.Coefficients(k);
            Assert.Equal((float)Run.Doubles($"step{step}.posterior_log_variance")[0], (float)schedule.PosteriorLogVarianceClipped[k]);
            using var x = Run.Tensor($"step{step}.x_in");
            using var eps = Run.Tensor($"step{step}.eps");
            using var noise = Run.Tensor($"noise.step{step}");
            using var next = Tensor.Empty(x.Shape);
            using var x0 = Tensor.Empty(x.Shape);
            using var mean = Tensor.Empty(x.Shape);
            x.Backend.PosteriorStep(x, eps, c.NoiseStd == 0 ? null : noise, c, next, x0, mean);
            AssertMatches(x0, $"step{step}.x0_pred", 1e-6);
            AssertMatches(mean, $"step{step}.model_mean", 1e-6);
            AssertMatches(next, $"step{step}.x_out", 1e-6);
        }
    }

    [Theory]
    [InlineData("adain")]
    [InlineData("wavelet")]
    [InlineData("nofix")]
    public void ColourFixMatchesUpstream(string mode)
    {
        using var decoded = Run.Tensor("decoded");
        using var lq = Run.Tensor("init_image");
        var m = mode switch { "adain" => ColorFixMode.AdaIn, "wavelet" => ColorFixMode.Wavelet, _ => ColorFixMode.None };
        using var fixedImage = ColorFix.Apply(m, decoded, lq);
        AssertMatches(fixedImage, $"colorfix.{mode}", 1e-5);
    }
}
