namespace PFStorer.Training.Degradations;

/// <summary>
/// Blur kernels of the second-order degradation model (basicsr degradations.py, Real-ESRGAN): row-major k×k float32,
/// rows are y, columns x, both on the grid −k/2+1 … k/2, computed in float64 and normalised to sum 1.
/// </summary>
public static class BlurKernels
{
    /// <summary>basicsr bivariate_Gaussian: exp(−½ pᵀΣ⁻¹p), Σ = R(θ)·diag(σx², σy²)·R(θ)ᵀ (isotropic: σy = σx, θ ignored).</summary>
    public static float[] BivariateGaussian(int size, double sigmaX, double sigmaY, double theta, bool isotropic = false)
        => FromQuadraticForm(size, sigmaX, sigmaY, theta, isotropic, q => Math.Exp(-0.5 * q));

    /// <summary>basicsr bivariate_generalized_Gaussian: exp(−½ (pᵀΣ⁻¹p)^β); β = 1 is the Gaussian.</summary>
    public static float[] GeneralizedGaussian(int size, double sigmaX, double sigmaY, double theta, double beta, bool isotropic = false)
        => FromQuadraticForm(size, sigmaX, sigmaY, theta, isotropic, q => Math.Exp(-0.5 * Math.Pow(q, beta)));

    /// <summary>basicsr bivariate_plateau: 1 / ((pᵀΣ⁻¹p)^β + 1), flat-topped with heavy tails.</summary>
    public static float[] Plateau(int size, double sigmaX, double sigmaY, double theta, double beta, bool isotropic = false)
        => FromQuadraticForm(size, sigmaX, sigmaY, theta, isotropic, q => 1.0 / (Math.Pow(q, beta) + 1.0));

    private static float[] FromQuadraticForm(int size, double sigmaX, double sigmaY, double theta, bool isotropic, Func<double, double> profile)
    {
        RequireOdd(size);
        if (isotropic) (sigmaY, theta) = (sigmaX, 0);
        double c = Math.Cos(theta), s = Math.Sin(theta);
        double vx = sigmaX * sigmaX, vy = sigmaY * sigmaY;
        // Σ = R diag(vx, vy) Rᵀ, then its closed-form 2×2 inverse.
        double a = c * c * vx + s * s * vy, b = c * s * (vx - vy), d = s * s * vx + c * c * vy;
        double det = a * d - b * b;
        double ia = d / det, ib = -b / det, id = a / det;
        int half = size / 2;
        var k = new double[size * size];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double px = x - half, py = y - half;
            k[y * size + x] = profile(ia * px * px + 2 * ib * px * py + id * py * py);
        }
        return Normalise(k);
    }

    /// <summary>
    /// basicsr circular_lowpass_kernel: the ideal circular low-pass (2-D sinc) ω·J₁(ω r)/(2π r), centre ω²/(4π),
    /// r measured from the kernel centre; it produces the ringing and overshoot artifacts of real resamplers.
    /// </summary>
    public static float[] CircularLowpass(double cutoff, int size)
    {
        RequireOdd(size);
        double centre = (size - 1) / 2.0;
        var k = new double[size * size];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double r = Math.Sqrt((x - centre) * (x - centre) + (y - centre) * (y - centre));
            k[y * size + x] = r == 0 ? cutoff * cutoff / (4 * Math.PI) : cutoff * BesselJ1(cutoff * r) / (2 * Math.PI * r);
        }
        return Normalise(k);
    }

    /// <summary>
    /// Linear camera-shake blur: a segment of <paramref name="length"/> pixels through the centre at angle
    /// <paramref name="angle"/> (radians, counter-clockwise from +x), rasterised by bilinear splatting of 8 samples per
    /// pixel so short and diagonal segments keep their energy. Size is the smallest odd k that holds the segment.
    /// </summary>
    public static float[] Motion(double length, double angle, out int size)
    {
        if (!(length >= 1)) throw new ArgumentOutOfRangeException(nameof(length), length, "motion length must be ≥ 1 pixel");
        size = ((int)Math.Ceiling(length) + 2) | 1;
        double half = (size - 1) / 2.0;
        var k = new double[size * size];
        int samples = (int)Math.Ceiling(length * 8);
        double dx = Math.Cos(angle), dy = -Math.Sin(angle); // image y grows downwards
        for (int i = 0; i <= samples; i++)
        {
            double t = (i / (double)samples - 0.5) * (length - 1);
            double px = half + t * dx, py = half + t * dy;
            int x0 = (int)Math.Floor(px), y0 = (int)Math.Floor(py);
            double fx = px - x0, fy = py - y0;
            Splat(k, size, x0, y0, (1 - fx) * (1 - fy));
            Splat(k, size, x0 + 1, y0, fx * (1 - fy));
            Splat(k, size, x0, y0 + 1, (1 - fx) * fy);
            Splat(k, size, x0 + 1, y0 + 1, fx * fy);
        }
        return Normalise(k);
    }

    private static void Splat(double[] k, int size, int x, int y, double w)
    {
        if ((uint)x < (uint)size && (uint)y < (uint)size) k[y * size + x] += w;
    }

    /// <summary>
    /// Bessel J₁ from Bessel's integral J₁(x) = (1/2π)∫₀^{2π} cos(τ − x sin τ) dτ. The integrand is periodic and
    /// analytic, so the trapezoidal rule converges geometrically: 256 nodes give float64 accuracy for |x| ≤ 100.
    /// </summary>
    internal static double BesselJ1(double x)
    {
        if (Math.Abs(x) > 100) throw new ArgumentOutOfRangeException(nameof(x), x, "J1 quadrature is exact only for |x| ≤ 100");
        const int n = 256;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double tau = 2 * Math.PI * i / n;
            sum += Math.Cos(tau - x * Math.Sin(tau));
        }
        return sum / n;
    }

    private static float[] Normalise(double[] k)
    {
        double sum = 0;
        foreach (var v in k) sum += v;
        return Array.ConvertAll(k, v => (float)(v / sum));
    }

    private static void RequireOdd(int size)
    {
        if (size < 1 || size % 2 == 0) throw new ArgumentOutOfRangeException(nameof(size), size, "kernel size must be odd and positive");
    }
}
