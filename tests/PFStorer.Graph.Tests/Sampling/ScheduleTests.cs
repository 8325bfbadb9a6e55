using PFStorer.Graph.Sampling;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

public class ScheduleTests
{
    private static readonly FixtureFile File = new("schedule", "schedule.safetensors");

    public static TheoryData<string> Groups => new() { "full1000", "respaced200", "respaced4" };

    private static int Steps(string group) => group == "full1000" ? 1000 : int.Parse(group["respaced".Length..]);

    private static IEnumerable<(string Name, double[] Values)> Arrays(DiffusionSchedule s) =>
    [
        ("betas", s.Betas), ("alphas", s.Alphas), ("alphas_cumprod", s.AlphasCumprod), ("alphas_cumprod_prev", s.AlphasCumprodPrev),
        ("sqrt_alphas_cumprod", s.SqrtAlphasCumprod), ("sqrt_one_minus_alphas_cumprod", s.SqrtOneMinusAlphasCumprod),
        ("log_one_minus_alphas_cumprod", s.LogOneMinusAlphasCumprod), ("sqrt_recip_alphas_cumprod", s.SqrtRecipAlphasCumprod),
        ("sqrt_recipm1_alphas_cumprod", s.SqrtRecipm1AlphasCumprod), ("posterior_variance", s.PosteriorVariance),
        ("posterior_log_variance_clipped", s.PosteriorLogVarianceClipped), ("posterior_mean_coef1", s.PosteriorMeanCoef1),
        ("posterior_mean_coef2", s.PosteriorMeanCoef2),
    ];

    [Fact]
    public void Float64FullScheduleMatchesTheFixtureTo1e12()
    {
        const string group = "full1000";
        var s = DiffusionSchedule.Linear();
        foreach (var (name, values) in Arrays(s))
        {
            var expected = File.Doubles($"{group}.{name}");
            Assert.Equal(expected.Length, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                double err = Math.Abs(values[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
                Assert.True(err <= 1e-12, $"{group}.{name}[{i}]: {values[i]:R} vs {expected[i]:R} (error {err:E2})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public void UpstreamFloat32ArraysMatchTheFixtureExactly(string group)
    {
        var s = DiffusionSchedule.UpstreamFloat32(Steps(group));
        foreach (var (name, values) in Arrays(s))
        {
            var key = $"upstream_f32.{group}.{name}";
            if (!File.Contains(key)) continue;   // the upstream buffers have no `alphas`
            var expected = File.Doubles(key);
            Assert.Equal(expected.Length, values.Length);
            for (int i = 0; i < values.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits((float)values[i]) == BitConverter.SingleToInt32Bits((float)expected[i]),
                    $"{key}[{i}]: {(float)values[i]:R} vs {(float)expected[i]:R}");
        }
    }

    [Theory]
    [InlineData(200, new long[] { 0, 5, 10, 15, 20 }, new long[] { 984, 989, 994, 999 })]
    [InlineData(50, new long[] { 0, 20, 41, 61, 82 }, new long[] { 979, 999 })]
    [InlineData(20, new long[] { 0, 53, 105, 158 }, new long[] { 946, 999 })]
    [InlineData(4, new long[] { 0, 333, 666, 999 }, new long[] { 999 })]
    public void SpaceTimestepsRoundsHalfToEvenAsPython(int steps, long[] head, long[] tail)
    {
        var t = DiffusionSchedule.SpaceTimesteps(1000, steps);
        Assert.Equal(steps, t.Length);
        Assert.Equal(head, t[..head.Length]);
        Assert.Equal(tail, t[^tail.Length..]);
    }

    [Fact]
    public void TheLastStepAddsNoNoise()
    {
        var s = DiffusionSchedule.UpstreamFloat32(4);
        Assert.Equal(0f, s.Coefficients(0).NoiseStd);
        Assert.Equal(MathF.Exp(0.5f * (float)s.PosteriorLogVarianceClipped[3]), s.Coefficients(3).NoiseStd);
    }
}
