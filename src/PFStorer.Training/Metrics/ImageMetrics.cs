using PFStorer.Images;

namespace PFStorer.Training.Metrics;

/// <summary>Which of skimage's structural_similarity settings to reproduce.</summary>
public enum SsimWindow
{
    /// <summary>gaussian_weights=True, σ = 1.5, truncate 3.5 (11×11), use_sample_covariance=False: Wang et al. 2004.</summary>
    Gaussian,
    /// <summary>skimage's defaults: 7×7 uniform window, sample covariance (N/(N−1)).</summary>
    Uniform,
}

/// <summary>
/// Full-reference metrics with scikit-image's exact definitions, in float64 over the colour channels (alpha ignored):
/// peak_signal_noise_ratio and structural_similarity(channel_axis=2), mean over channels.
/// </summary>
public static class ImageMetrics
{
    private const double K1 = 0.01, K2 = 0.03;

    /// <summary>10·log10(R² / MSE) over every colour sample; +∞ for identical images.</summary>
    public static double Psnr(Image a, Image b, double dataRange = 255)
    {
        var (x, y, _) = Pair(a, b);
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - y[i];
            sum += d * d;
        }
        double mse = sum / x.Length;
        return 10 * Math.Log10(dataRange * dataRange / mse);
    }

    /// <summary>Mean SSIM: per channel, the SSIM map cropped by the window radius is averaged; then channels are averaged.</summary>
    public static double Ssim(Image a, Image b, SsimWindow window = SsimWindow.Gaussian, double dataRange = 255)
    {
        var (x, y, c) = Pair(a, b);
        int w = a.Width, h = a.Height;
        double[] taps;
        double covNorm;
        if (window == SsimWindow.Gaussian)
        {
            // scipy.ndimage.gaussian_filter: radius int(truncate·σ + 0.5) = 5, taps exp(−x²/2σ²) normalised.
            const double sigma = 1.5;
            int radius = (int)(3.5 * sigma + 0.5);
            taps = new double[2 * radius + 1];
            double sum = 0;
            for (int i = 0; i < taps.Length; i++) sum += taps[i] = Math.Exp(-0.5 * (i - radius) * (i - radius) / (sigma * sigma));
            for (int i = 0; i < taps.Length; i++) taps[i] /= sum;
            covNorm = 1;
        }
        else
        {
            taps = Enumerable.Repeat(1.0 / 7, 7).ToArray();
            covNorm = 49.0 / 48.0;
        }
        int pad = (taps.Length - 1) / 2;
        if (w <= 2 * pad || h <= 2 * pad) throw new ArgumentException($"SSIM needs images larger than {taps.Length}x{taps.Length}, got {w}x{h}");
        double c1 = K1 * dataRange * K1 * dataRange, c2 = K2 * dataRange * K2 * dataRange;
        double total = 0;
        var px = new double[w * h];
        var py = new double[w * h];
        for (int ch = 0; ch < c; ch++)
        {
            for (int i = 0; i < w * h; i++) (px[i], py[i]) = (x[i * c + ch], y[i * c + ch]);
            var ux = Smooth(px, w, h, taps);
            var uy = Smooth(py, w, h, taps);
            var uxx = Smooth(Product(px, px), w, h, taps);
            var uyy = Smooth(Product(py, py), w, h, taps);
            var uxy = Smooth(Product(px, py), w, h, taps);
            double mean = 0;
            for (int yy = pad; yy < h - pad; yy++)
            for (int xx = pad; xx < w - pad; xx++)
            {
                int i = yy * w + xx;
                double vx = covNorm * (uxx[i] - ux[i] * ux[i]);
                double vy = covNorm * (uyy[i] - uy[i] * uy[i]);
                double vxy = covNorm * (uxy[i] - ux[i] * uy[i]);
                mean += (2 * ux[i] * uy[i] + c1) * (2 * vxy + c2) / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2));
            }
            total += mean / ((double)(w - 2 * pad) * (h - 2 * pad));
        }
        return total / c;
    }

    private static double[] Product(double[] a, double[] b)
    {
        var r = new double[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = a[i] * b[i];
        return r;
    }

    /// <summary>Separable correlation with scipy.ndimage's default 'reflect' border (dcba|abcd: the edge sample repeats).</summary>
    private static double[] Smooth(double[] src, int w, int h, double[] taps)
    {
        int r = taps.Length / 2;
        var tmp = new double[w * h];
        var dst = new double[w * h];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double s = 0;
            for (int k = -r; k <= r; k++) s += taps[k + r] * src[y * w + Reflect(x + k, w)];
            tmp[y * w + x] = s;
        }
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double s = 0;
            for (int k = -r; k <= r; k++) s += taps[k + r] * tmp[Reflect(y + k, h) * w + x];
            dst[y * w + x] = s;
        }
        return dst;
    }

    private static int Reflect(int i, int n)
    {
        while ((uint)i >= (uint)n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
        return i;
    }

    private static (double[] X, double[] Y, int Channels) Pair(Image a, Image b)
    {
        if (a.Width != b.Width || a.Height != b.Height || a.ColorChannels != b.ColorChannels)
            throw new ArgumentException($"metric needs images of the same shape: {a} vs {b}");
        return (ColourSamples(a), ColourSamples(b), a.ColorChannels);
    }

    private static double[] ColourSamples(Image image)
    {
        var colour = image.HasAlpha ? image.WithoutAlpha() : image;
        return colour.Kind == PixelKind.U8 ? Array.ConvertAll(colour.U8!, v => (double)v) : Array.ConvertAll(colour.F32!, v => (double)v);
    }
}
