using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>
/// The light and heavy degradations of the PFStorer supplementary (docs/degradations.md). Sampling draws every random
/// choice from the seeded <see cref="DegradationRng"/> into a <see cref="DegradationParameters"/> record; applying
/// the record is deterministic. Images are processed on the 0–255 float scale; alpha is carried over untouched.
/// </summary>
public static class Degradation
{
    /// <summary>
    /// Blur kernel size for k_σ. <b>[decision]</b> 41, CodeFormer's blur_kernel_size (the first-order model the paper's
    /// formula and noise scale follow); σ ≤ 10 is then truncated at ±2σ at worst, as there.
    /// </summary>
    public const int BlurKernelSize = 41;

    private const double PNoise = 0.4, PDown = 0.7;
    private const double SigmaMin = 0.1, SigmaMax = 10, QualityMin = 30, QualityMax = 100;
    private const double LightScaleMax = 4, LightNoiseMax = 2, HeavyScaleMax = 10, HeavyNoiseMax = 15;
    private const double PCleanHeavy = 0.03, PCameraNoise = 0.5, PMotion = 0.05, PMedian = 0.10, PSecondOrder = 0.9;

    public static DegradationParameters Sample(DegradationLevel level, ulong seed)
    {
        var rng = new DegradationRng(seed);
        if (level == DegradationLevel.Light)
            return new(level, seed, First: SampleFirstOrder(rng, LightScaleMax, LightNoiseMax));

        if (rng.Chance(PCleanHeavy)) return new(level, seed, Clean: true);
        var camera = rng.Chance(PCameraNoise) ? Degradations.CameraNoise.Sample(rng) : null;
        // [decision] motion: length U[5, 25] px at a uniform angle; median: 3×3 or 5×5 with equal odds.
        var motion = rng.Chance(PMotion) ? new MotionBlurParameters(rng.Uniform(5, 25), rng.Uniform(0, Math.PI)) : null;
        int? median = rng.Chance(PMedian) ? 3 + 2 * rng.NextInt(2) : null;
        var first = SampleFirstOrder(rng, HeavyScaleMax, HeavyNoiseMax);
        // [decision] Real-ESRGAN's final sinc: odd size in 7..21, ω ~ U[π/3, π] (U[π/5, π] from size 13 on).
        int sincSize = 7 + 2 * rng.NextInt(8);
        var sinc = new SincParameters(rng.Uniform(sincSize < 13 ? Math.PI / 3 : Math.PI / 5, Math.PI), sincSize);
        var second = rng.Chance(PSecondOrder) ? SampleFirstOrder(rng, HeavyScaleMax, HeavyNoiseMax) : null;
        return new(level, seed, false, camera, motion, median, first, sinc, second);
    }

    /// <summary>
    /// One eq. 3 draw: σ ~ U[0.1, 10]; with p = 0.7 r ~ U[1, r_max]; with p = 0.4 δ ~ U[0, δ_max] (0–255 scale);
    /// q ~ U[30, 100] truncated to an integer as CodeFormer's int(np.random.uniform(...)). [decision] The heavy level
    /// keeps the light level's noise and downsampling probabilities.
    /// </summary>
    private static FirstOrderParameters SampleFirstOrder(DegradationRng rng, double scaleMax, double noiseMax)
    {
        double sigma = rng.Uniform(SigmaMin, SigmaMax);
        double? scale = rng.Chance(PDown) ? rng.Uniform(1, scaleMax) : null;
        bool noisy = rng.Chance(PNoise);
        double? noise = noisy ? rng.Uniform(0, noiseMax) : null;
        ulong? noiseSeed = noisy ? rng.NextUInt64() : null;
        int quality = Math.Min((int)rng.Uniform(QualityMin, QualityMax), 100);
        return new(sigma, BlurKernelSize, scale, noise, noiseSeed, quality);
    }

    /// <summary>Applies a sampled record to an image (U8 or F32, 1–4 channels); returns an F32 image of the same size.</summary>
    public static Image Apply(Image image, DegradationParameters p)
    {
        var colour = image.HasAlpha ? image.WithoutAlpha() : image.ToF32();
        if (colour.Kind != PixelKind.F32) colour = colour.ToF32();
        if (!p.Clean)
        {
            if (p.CameraNoise != null) colour = Degradations.CameraNoise.Apply(colour, p.CameraNoise);
            if (p.MotionBlur != null)
            {
                var k = BlurKernels.Motion(p.MotionBlur.Length, p.MotionBlur.Angle, out int size);
                colour = Filtering.Filter2D(colour, k, size);
            }
            if (p.MedianKernelSize is int m) colour = Filtering.MedianBlur(colour, m);
            if (p.First != null) colour = ApplyFirstOrder(colour, p.First);
            if (p.Sinc != null) colour = Filtering.Filter2D(colour, BlurKernels.CircularLowpass(p.Sinc.Cutoff, p.Sinc.KernelSize), p.Sinc.KernelSize);
            if (p.Second != null) colour = ApplyFirstOrder(colour, p.Second);
        }
        return Alpha.CarryOver(colour, image);
    }

    /// <summary>
    /// Eq. 3: isotropic Gaussian blur (separable, exact for basicsr's isotropic bivariate kernel), bilinear shrink to
    /// ⌊size/r⌋ (CodeFormer's cv2.resize(…, (w // r, h // r)), INTER_LINEAR), colour Gaussian noise, JPEG, and the
    /// bilinear resize back to the input size.
    /// </summary>
    public static Image ApplyFirstOrder(Image src, FirstOrderParameters p)
    {
        var k = Filtering.GaussianKernel(p.BlurKernelSize, p.BlurSigma);
        var x = Filtering.SeparableFilter(src, k, k);
        if (p.DownScale is double r)
        {
            int w = Math.Max(1, (int)Math.Floor(src.Width / r)), h = Math.Max(1, (int)Math.Floor(src.Height / r));
            x = Resize.ToSize(x, w, h, Interpolation.Linear);
        }
        if (p.NoiseSigma is double sigma) x = Noise.Gaussian(x, sigma, gray: false, new DegradationRng(p.NoiseSeed ?? 0));
        x = Noise.Jpeg(x, p.JpegQuality);
        if (x.Width != src.Width || x.Height != src.Height) x = Resize.ToSize(x, src.Width, src.Height, Interpolation.Linear);
        return x;
    }
}
