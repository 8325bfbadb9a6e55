using System.Numerics;
using System.Runtime.InteropServices;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>
/// Linear and median filters with OpenCV's conventions: correlation (cv2.filter2D does not flip the kernel), anchor at
/// the kernel centre, BORDER_REFLECT_101 for linear filters and BORDER_REPLICATE for the median. Inputs keep their
/// kind: U8 images are computed in float and rounded/saturated once at the end, as OpenCV's float-kernel path does.
/// </summary>
public static class Filtering
{
    /// <summary>cv2.filter2D(src, −1, kernel): 2-D correlation with a k×k (rows = y) kernel, every channel alike.</summary>
    public static Image Filter2D(Image src, ReadOnlySpan<float> kernel, int kernelSize)
    {
        if (kernel.Length != kernelSize * kernelSize) throw new ArgumentException($"kernel has {kernel.Length} taps, expected {kernelSize}²");
        int r = kernelSize / 2, c = src.Channels, w = src.Width, h = src.Height;
        var padded = PadReflect101(Samples(src), w, h, c, r, r);
        int pw = (w + 2 * r) * c, row = w * c;
        var dst = new float[h * row];
        for (int y = 0; y < h; y++)
        {
            var acc = dst.AsSpan(y * row, row);
            for (int ky = 0; ky < kernelSize; ky++)
            {
                var srcRow = padded.AsSpan((y + ky) * pw, pw);
                for (int kx = 0; kx < kernelSize; kx++)
                {
                    float wgt = kernel[ky * kernelSize + kx];
                    if (wgt != 0) MultiplyAdd(acc, srcRow.Slice(kx * c, row), wgt);
                }
            }
        }
        return Like(src, dst, w, h);
    }

    /// <summary>cv2.sepFilter2D: correlation with kernelX along rows then kernelY along columns (both odd), REFLECT_101.</summary>
    public static Image SeparableFilter(Image src, ReadOnlySpan<float> kernelX, ReadOnlySpan<float> kernelY)
    {
        int rx = kernelX.Length / 2, ry = kernelY.Length / 2, c = src.Channels, w = src.Width, h = src.Height;
        var padded = PadReflect101(Samples(src), w, h, c, rx, ry);
        int pw = (w + 2 * rx) * c, row = w * c;
        // Horizontal pass over every padded row (the vertical border rows are needed by the second pass).
        var horizontal = new float[(h + 2 * ry) * row];
        for (int y = 0; y < h + 2 * ry; y++)
        {
            var acc = horizontal.AsSpan(y * row, row);
            var srcRow = padded.AsSpan(y * pw, pw);
            for (int kx = 0; kx < kernelX.Length; kx++) MultiplyAdd(acc, srcRow.Slice(kx * c, row), kernelX[kx]);
        }
        var dst = new float[h * row];
        for (int y = 0; y < h; y++)
        {
            var acc = dst.AsSpan(y * row, row);
            for (int ky = 0; ky < kernelY.Length; ky++) MultiplyAdd(acc, horizontal.AsSpan((y + ky) * row, row), kernelY[ky]);
        }
        return Like(src, dst, w, h);
    }

    /// <summary>
    /// cv2.GaussianBlur(src, (k, k), σ): σ = 0 derives σ from k, k = 0 derives k from σ (⌈…⌉ as OpenCV: round(σ·3·2+1)|1
    /// for 8-bit images, round(σ·4·2+1)|1 for float), separable and REFLECT_101.
    /// </summary>
    public static Image GaussianBlur(Image src, int kernelSize, double sigma)
    {
        if (kernelSize <= 0)
        {
            if (!(sigma > 0)) throw new ArgumentException("GaussianBlur needs a kernel size or a positive sigma");
            kernelSize = (int)Math.Round(sigma * (src.Kind == PixelKind.U8 ? 3 : 4) * 2 + 1, MidpointRounding.ToEven) | 1;
        }
        var k = GaussianKernel(kernelSize, sigma);
        return SeparableFilter(src, k, k);
    }

    /// <summary>
    /// cv2.getGaussianKernel(n, σ): for σ ≤ 0 and n ∈ {1,3,5,7} OpenCV uses fixed binomial-like tables; otherwise
    /// σ ≤ 0 becomes 0.3·((n−1)·0.5 − 1) + 0.8 and the taps are exp(−x²/(2σ²)) normalised, x centred.
    /// </summary>
    public static float[] GaussianKernel(int n, double sigma)
    {
        if (n < 1 || n % 2 == 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Gaussian kernel size must be odd and positive");
        if (sigma <= 0)
        {
            float[]? table = n switch
            {
                1 => [1f],
                3 => [0.25f, 0.5f, 0.25f],
                5 => [0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f],
                7 => [0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f],
                _ => null,
            };
            if (table != null) return table;
            sigma = ((n - 1) * 0.5 - 1) * 0.3 + 0.8;
        }
        var k = new double[n];
        double scale = -0.5 / (sigma * sigma), sum = 0;
        for (int i = 0; i < n; i++)
        {
            double x = i - (n - 1) * 0.5;
            sum += k[i] = Math.Exp(scale * x * x);
        }
        return Array.ConvertAll(k, v => (float)(v / sum));
    }

    /// <summary>cv2.medianBlur(src, k): per-channel median of the k×k window, BORDER_REPLICATE (exact; no rounding involved).</summary>
    public static Image MedianBlur(Image src, int kernelSize)
    {
        if (kernelSize < 3 || kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "median size must be odd and ≥ 3");
        int r = kernelSize / 2, c = src.Channels, w = src.Width, h = src.Height;
        var s = Samples(src);
        var dst = new float[s.Length];
        var window = new float[kernelSize * kernelSize];
        // Replicated border as precomputed clamped offsets, so the inner gather has no branches.
        var columns = new int[w + 2 * r];
        for (int x = 0; x < columns.Length; x++) columns[x] = Math.Clamp(x - r, 0, w - 1) * c;
        var rows = new int[kernelSize];
        for (int y = 0; y < h; y++)
        {
            for (int k = 0; k < kernelSize; k++) rows[k] = Math.Clamp(y + k - r, 0, h - 1) * w * c;
            for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++)
            {
                int n = 0;
                foreach (int row in rows)
                    for (int k = 0; k < kernelSize; k++) window[n++] = s[row + columns[x + k] + ch];
                dst[(y * w + x) * c + ch] = Select(window, window.Length / 2);
            }
        }
        return Like(src, dst, w, h);
    }

    /// <summary>The k-th smallest value (Hoare's quickselect, middle pivot); reorders <paramref name="a"/>.</summary>
    private static float Select(Span<float> a, int k)
    {
        int lo = 0, hi = a.Length - 1;
        while (lo < hi)
        {
            float pivot = a[(lo + hi) >> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] ≤ pivot ≤ a[i..hi], and anything strictly between j and i equals the pivot.
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return a[k];
        }
        return a[k];
    }

    private static float[] PadReflect101(float[] s, int w, int h, int c, int rx, int ry)
    {
        int pw = w + 2 * rx;
        var padded = new float[(h + 2 * ry) * pw * c];
        for (int y = 0; y < h + 2 * ry; y++)
        {
            int sy = TorchResize.Reflect(y - ry, h);
            for (int x = 0; x < pw; x++)
                s.AsSpan((sy * w + TorchResize.Reflect(x - rx, w)) * c, c).CopyTo(padded.AsSpan((y * pw + x) * c, c));
        }
        return padded;
    }

    /// <summary>acc += w·src, vectorised (the inner loop of every linear filter here).</summary>
    internal static void MultiplyAdd(Span<float> acc, ReadOnlySpan<float> src, float w)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<float>.Count)
        {
            var a = MemoryMarshal.Cast<float, Vector<float>>(acc);
            var b = MemoryMarshal.Cast<float, Vector<float>>(src);
            var wv = new Vector<float>(w);
            for (int v = 0; v < a.Length; v++) a[v] += b[v] * wv;
            i = a.Length * Vector<float>.Count;
        }
        for (; i < acc.Length; i++) acc[i] += src[i] * w;
    }

    /// <summary>The samples as floats (shared, not copied, for F32 images: callers must not write to it).</summary>
    internal static float[] Samples(Image image) => image.Kind == PixelKind.F32 ? image.F32! : image.ToF32().F32!;

    /// <summary>Wraps float results in an image of the source's kind (U8: rounded and saturated).</summary>
    internal static Image Like(Image kindOf, float[] data, int w, int h)
    {
        var f = Image.FromF32(data, w, h, kindOf.Channels);
        return kindOf.Kind == PixelKind.F32 ? f : f.ToU8();
    }
}
