using PFStorer.Graph.Sampling;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>The sampler's NaN guard (issue 16, class 3): a latent that turns NaN or Inf stops the run at that step, named.</summary>
public sealed class NanGuardTests
{
    /// <summary>Predicts ε = 0.1·x, except at its <see cref="PoisonAt"/>-th call, where one element is the given value.</summary>
    private sealed class PoisonedModel(int poisonAt, float value) : INoisePredictor
    {
        private int _calls;
        public int PoisonAt => poisonAt;

        public void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps)
        {
            var values = x.ToFloatArray().Select(v => 0.1f * v).ToArray();
            if (++_calls == poisonAt) values[values.Length / 2] = value;
            using var t = Tensor.FromSpan<float>(values, PFStorer.Kernels.DType.F32, x.Shape, x.Device);
            x.Backend.Copy(t, eps);
        }
    }

    [Theory]
    [InlineData(3, float.NaN)]
    [InlineData(5, float.PositiveInfinity)]
    [InlineData(1, float.NegativeInfinity)]
    public void NonFiniteLatentStopsAtTheStepWhereItAppears(int step, float value)
    {
        const int steps = 6;
        var rng = new Random(16 * step);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var x = Tensor.FromArray(Random(4 * 8 * 8), 1, 4, 8, 8);
        using var lq = Tensor.FromArray(Random(4 * 8 * 8), 1, 4, 8, 8);
        using var context = Tensor.FromArray(Random(77 * 8), 1, 77, 8);
        var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(steps), new SamplerSettings(8, 4));
        int observed = 0;
        var e = Assert.Throws<NonFiniteLatentException>(() =>
            sampler.Sample(new PoisonedModel(step, value), x, lq, context, null, new PhiloxNoise(7), _ => observed++).Dispose());
        Assert.Equal(step, e.Step);
        Assert.Equal(step, observed);
        Assert.Contains($"at sampling step {step} of {steps}", e.Message);
        Assert.Contains("1 of 256 values are NaN or Inf", e.Message);
    }

    [Fact]
    public void FiniteRunsAreNotStopped()
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, 256).Select(i => i / 256f).ToArray(), 1, 4, 8, 8);
        using var context = Tensor.Zeros([1, 77, 8]);
        var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(4), new SamplerSettings(8, 4));
        using var z = sampler.Sample(new PoisonedModel(0, float.NaN), x, x, context, null, new PhiloxNoise(7));
        Assert.All(z.ToFloatArray(), v => Assert.True(float.IsFinite(v)));
    }
}
