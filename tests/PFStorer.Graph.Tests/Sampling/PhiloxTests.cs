using PFStorer.Graph.Sampling;
using PFStorer.Kernels.Cpu;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

public class PhiloxTests
{
    // Random123's published known-answer vectors for Philox4x32-10 (tests/kat_vectors): counter, key, result.
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void BlockMatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3)
    {
        Assert.Equal((r0, r1, r2, r3), Philox.Block(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void SeriesLogAndSinCosAreAccurateToDoublePrecision()
    {
        var rng = Reference.NewRandom(out int seed);
        for (int i = 0; i < 20000; i++)
        {
            double u = (rng.Next() + 0.5) / 2147483648.0 * (i % 2 == 0 ? 1 : 1e-9 + 1e-9 * rng.NextDouble());
            double t = rng.NextDouble();
            Assert.True(Math.Abs(Philox.Log(u) - Math.Log(u)) <= 1e-15 * Math.Max(1, Math.Abs(Math.Log(u))), $"seed {seed}: log({u:R})");
            Philox.SinCosTurns(t, out double s, out double c);
            Assert.True(Math.Abs(s - Math.Sin(2 * Math.PI * t)) <= 2e-15 && Math.Abs(c - Math.Cos(2 * Math.PI * t)) <= 2e-15, $"seed {seed}: sincos(2π·{t:R})");
        }
    }

    [Fact]
    public void ElementsDependOnlyOnSeedStreamAndIndex()
    {
        var all = new float[1001];
        Philox.StandardNormal(all, seed: 42, stream: 7);
        for (int first = 0; first < 12; first++)
        {
            var part = new float[37];
            Philox.StandardNormal(part, 42, 7, (ulong)(first * 13 + first));
            Assert.Equal(all.AsSpan(first * 14, 37).ToArray(), part);
        }
        var otherStream = new float[1001];
        var otherSeed = new float[1001];
        Philox.StandardNormal(otherStream, 42, 8);
        Philox.StandardNormal(otherSeed, 43, 7);
        Assert.True(all.Zip(otherStream).Count(p => p.First == p.Second) < 5);
        Assert.True(all.Zip(otherSeed).Count(p => p.First == p.Second) < 5);
    }

    [Fact]
    public void NoiseIsStandardNormal()
    {
        // 2^18 draws: the sample mean, variance and the fraction beyond ±1.96 are within 6 standard errors of N(0,1).
        int n = 1 << 18;
        var z = new float[n];
        var seed = (ulong)Random.Shared.NextInt64();
        Philox.StandardNormal(z, seed, 3);
        double mean = z.Average(v => (double)v);
        double var = z.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double tails = z.Count(v => Math.Abs(v) > 1.959964) / (double)n;
        Assert.True(Math.Abs(mean) < 6 / Math.Sqrt(n), $"seed {seed}: mean {mean}");
        Assert.True(Math.Abs(var - 1) < 6 * Math.Sqrt(2.0 / n), $"seed {seed}: variance {var}");
        Assert.True(Math.Abs(tails - 0.05) < 6 * Math.Sqrt(0.05 * 0.95 / n), $"seed {seed}: tail mass {tails}");
        Assert.All(z, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void BackendDrawMatchesTheHostStream()
    {
        using var t = Tensor.Empty([2, 4, 9, 7]);
        t.Backend.StandardNormal(t, 1234, NoiseStreams.Step(5));
        var host = new float[t.Numel];
        Philox.StandardNormal(host, 1234, NoiseStreams.Step(5));
        Assert.Equal(host, t.ToFloatArray());
    }
}
