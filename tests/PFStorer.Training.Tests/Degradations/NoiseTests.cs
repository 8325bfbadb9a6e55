using PFStorer.Images;
using PFStorer.Training.Degradations;
using Xunit;

namespace PFStorer.Training.Tests.Degradations;

/// <summary>Statistical checks of the samplers and noise ops (bounds: several standard errors of the estimate).</summary>
public class NoiseTests
{
    private static ulong NewSeed() => (ulong)Random.Shared.NextInt64();

    private static Image Flat(float value, int w = 128, int h = 128, int c = 3)
        => Image.FromF32(Enumerable.Repeat(value, w * h * c).ToArray(), w, h, c);

    [Theory]
    [InlineData(0.7)]
    [InlineData(3.0)]
    [InlineData(9.5)]
    [InlineData(40.0)]
    [InlineData(400.0)]
    public void PoissonSamplerHasMeanAndVarianceLambda(double lambda)
    {
        ulong seed = NewSeed();
        var rng = new DegradationRng(seed);
        const int n = 40000;
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++)
        {
            double k = rng.Poisson(lambda);
            sum += k;
            sq += k * k;
        }
        double mean = sum / n, variance = sq / n - mean * mean;
        Assert.True(Math.Abs(mean - lambda) < 5 * Math.Sqrt(lambda / n), $"λ={lambda}: mean {mean} (seed {seed})");
        // Var of the sample variance ≈ (μ4 − σ⁴)/n = (λ + 2λ²)/n for Poisson.
        Assert.True(Math.Abs(variance - lambda) < 5 * Math.Sqrt((lambda + 2 * lambda * lambda) / n), $"λ={lambda}: variance {variance} (seed {seed})");
    }

    [Fact]
    public void NormalSamplerIsStandard()
    {
        ulong seed = NewSeed();
        var rng = new DegradationRng(seed);
        const int n = 100000;
        double sum = 0, sq = 0, beyond2 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = rng.Normal();
            sum += z;
            sq += z * z;
            if (Math.Abs(z) > 2) beyond2++;
        }
        Assert.True(Math.Abs(sum / n) < 5 / Math.Sqrt(n), $"mean {sum / n} (seed {seed})");
        Assert.True(Math.Abs(sq / n - 1) < 5 * Math.Sqrt(2.0 / n), $"variance {sq / n} (seed {seed})");
        double tail = beyond2 / n; // P(|Z| > 2) = 0.0455
        Assert.True(Math.Abs(tail - 0.0455) < 5 * Math.Sqrt(0.0455 * 0.9545 / n), $"two-sided 2σ tail {tail} (seed {seed})");
    }

    [Fact]
    public void RngStreamIsFixedAcrossPlatforms()
    {
        // The stream is part of the sidecar contract. Known-answer vector: xoshiro256** seeded by four SplitMix64
        // outputs of seed 0, computed independently with Python's arbitrary-precision integers masked to 64 bits.
        var rng = new DegradationRng(0);
        ulong[] expected = [0x99ec5f36cb75f2b4UL, 0xbf6e1f784956452aUL, 0x1a5f849d4933e6e0UL];
        ulong[] actual = [rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64()];
        Assert.Equal<ulong>(expected, actual);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GaussianNoiseHasStatedSigma(bool gray)
    {
        ulong seed = NewSeed();
        const double sigma = 10;
        var noisy = Noise.Gaussian(Flat(128), sigma, gray, new DegradationRng(seed));
        var d = noisy.F32!.Select(v => v - 128.0).ToArray();
        double mean = d.Average(), sd = Math.Sqrt(d.Select(v => v * v).Average() - mean * mean);
        // Five standard errors over the independent draws (gray noise repeats one draw in all three channels): a fresh
        // seed fails by chance less than once in a million runs, a wrong σ or a biased mean by 0.4 fails.
        double n = gray ? d.Length / 3 : d.Length, meanBound = 5 * sigma / Math.Sqrt(n), sdBound = 5 * sigma / Math.Sqrt(2 * n);
        Assert.True(Math.Abs(mean) < meanBound && Math.Abs(sd - sigma) < sdBound, $"gray={gray}: mean {mean} (bound {meanBound:F3}), sd {sd} (bound ±{sdBound:F3}) (seed {seed})");
        bool channelsEqual = Enumerable.Range(0, d.Length / 3).All(p => d[3 * p] == d[3 * p + 1] && d[3 * p] == d[3 * p + 2]);
        Assert.Equal(gray, channelsEqual);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PoissonNoiseIsUnbiasedWithShotVariance(bool gray)
    {
        ulong seed = NewSeed();
        // Every 8-bit level present (equal in R, G, B so the gray path's luma is the level itself) → v = 256:
        // out = Poisson(256·x)/256, so (out − x)/√(x/256) is standardised. Levels 50..200 keep clipping negligible.
        const int w = 256, h = 256;
        var f = new float[w * h * 3];
        for (int p = 0; p < w * h; p++) f[3 * p] = f[3 * p + 1] = f[3 * p + 2] = p % 256;
        var noisy = Noise.Poisson(Image.FromF32(f, w, h, 3), 1.0, gray, new DegradationRng(seed));
        var z = new List<double>();
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] < 50 || f[i] > 200) continue;
            double x = f[i] / 255.0;
            z.Add((noisy.F32![i] / 255.0 - x) / Math.Sqrt(x / 256));
        }
        double mean = z.Average(), variance = z.Select(v => v * v).Average() - mean * mean;
        // Gray noise is shared by the three channels: 1/3 as many independent draws.
        double n = gray ? z.Count / 3.0 : z.Count;
        Assert.True(Math.Abs(mean) < 5 / Math.Sqrt(n), $"gray={gray}: standardised mean {mean} (seed {seed})");
        Assert.True(Math.Abs(variance - 1) < 5 * Math.Sqrt(2 / n), $"gray={gray}: standardised variance {variance} (seed {seed})");
        bool channelsEqual = Enumerable.Range(0, w * h).All(p => noisy.F32![3 * p] == noisy.F32[3 * p + 1] && noisy.F32[3 * p] == noisy.F32[3 * p + 2]);
        Assert.Equal(gray, channelsEqual);
    }

    [Fact]
    public void CameraPipelineWithoutNoiseIsNearlyIdentity()
    {
        ulong seed = NewSeed();
        var p = CameraNoise.Sample(new DegradationRng(seed)) with { ShotNoise = 0, ReadNoise = 0 };
        // A smooth image: demosaicing is then nearly lossless, so unprocessing and processing must cancel.
        var input = Filtering.GaussianBlur(ImageOpsFixture.Input.ToF32(), 0, 3);
        var output = CameraNoise.Apply(input, p);
        double mean = input.F32!.Zip(output.F32!, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(mean < 1.5, $"noise-free camera round trip: mean |diff| {mean} (seed {seed})");
        var noisy = CameraNoise.Apply(input, p with { ShotNoise = 0.01, ReadNoise = 1e-4 });
        double noisyMean = input.F32!.Zip(noisy.F32!, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(noisyMean > 2 * mean + 1, $"camera noise should be visible: {noisyMean} vs {mean} (seed {seed})");
    }

    [Fact]
    public void BesselJ1MatchesTabulatedValues()
    {
        // Abramowitz & Stegun table 9.1 values.
        Assert.Equal(0.4400505857449335, BlurKernels.BesselJ1(1), 14);
        Assert.Equal(-0.3275791375914652, BlurKernels.BesselJ1(5), 14);
        Assert.Equal(0.0434727461688614, BlurKernels.BesselJ1(10), 14);
        Assert.Equal(0.0, BlurKernels.BesselJ1(0), 15);
    }

    [Fact]
    public void MotionKernelIsANormalisedCentredSegment()
    {
        var k = BlurKernels.Motion(9, 0, out int size);
        Assert.Equal(1.0, k.Sum(v => (double)v), 5);
        int centre = size / 2;
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            bool onSegment = y == centre && Math.Abs(x - centre) <= 4;
            Assert.True(onSegment == (k[y * size + x] > 0), $"horizontal length-9 kernel: tap ({x},{y}) = {k[y * size + x]}");
            Assert.Equal(k[y * size + x], k[(size - 1 - y) * size + (size - 1 - x)], 6); // point symmetric
        }
    }
}
