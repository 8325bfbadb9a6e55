using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>
/// Parameters of one camera-noise draw. <see cref="RgbToCamera"/> is row-major 3×3 (rows sum to 1 so white stays
/// white); gains are the white-balance gains the camera would apply; noise variance is shot·x + read on linear raw.
/// </summary>
public sealed record CameraNoiseParameters(
    double[] RgbToCamera, double RedGain, double BlueGain, double RgbGain, double ShotNoise, double ReadNoise, ulong NoiseSeed);

/// <summary>
/// The processed camera sensor noise of SCUNet / BSRGAN ("Practical blind image denoising via Swin-Conv-UNet and
/// data synthesis", the ISP model after Brooks et al., "Unprocessing images for learned raw denoising"): an sRGB
/// image is taken back to linear camera raw (inverse tone curve, inverse gamma, inverse colour matrix, inverse white
/// balance, RGGB mosaic), signal-dependent shot + read noise is added on the mosaic, and the camera pipeline runs
/// forward again (bilinear demosaic, white balance, colour matrix, gamma, tone curve). The noise thus ends up
/// spatially correlated by demosaicing and coloured by the matrices, unlike additive RGB noise.
/// </summary>
public static class CameraNoise
{
    /// <summary>
    /// Brooks et al.'s ranges: red gain U[1.9, 2.4], blue U[1.5, 1.9], overall brightness gain 1/N(0.8, 0.1),
    /// log shot noise U[ln 1e-4, ln 0.012], log read = 2.18·log shot + 1.2 + N(0, 0.26).
    /// <b>[decision]</b> The colour matrix is I plus off-diagonal entries U[−0.2, 0.2], rows renormalised to sum 1,
    /// instead of mixing a table of real camera matrices (which the public SCUNet/BSRGAN code does not ship).
    /// </summary>
    public static CameraNoiseParameters Sample(DegradationRng rng)
    {
        var m = new double[9];
        for (int r = 0; r < 3; r++)
        {
            double sum = 0;
            for (int c = 0; c < 3; c++) sum += m[r * 3 + c] = r == c ? 1.0 : rng.Uniform(-0.2, 0.2);
            for (int c = 0; c < 3; c++) m[r * 3 + c] /= sum;
        }
        double red = rng.Uniform(1.9, 2.4), blue = rng.Uniform(1.5, 1.9);
        double rgbGain = 1.0 / Math.Max(0.8 + 0.1 * rng.Normal(), 0.1); // the clamp only guards a ~7σ tail
        double logShot = rng.Uniform(Math.Log(1e-4), Math.Log(0.012));
        double logRead = 2.18 * logShot + 1.20 + 0.26 * rng.Normal();
        return new(m, red, blue, rgbGain, Math.Exp(logShot), Math.Exp(logRead), rng.NextUInt64());
    }

    /// <summary>Applies one draw to an F32/U8 image on the 0–255 scale (gray is processed as equal RGB). Returns F32.</summary>
    public static Image Apply(Image src, CameraNoiseParameters p)
    {
        int w = src.Width, h = src.Height, c = src.Channels, cc = src.ColorChannels;
        var s = Filtering.Samples(src);
        var camToRgb = Invert3(p.RgbToCamera);
        double[] wb = [p.RedGain * p.RgbGain, p.RgbGain, p.BlueGain * p.RgbGain];

        // sRGB → linear camera raw, mosaicked RGGB.
        var raw = new double[w * h];
        Span<double> rgb = stackalloc double[3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int i = y * w + x;
            for (int k = 0; k < 3; k++)
            {
                double v = Math.Clamp(s[i * c + (cc == 1 ? 0 : k)] / 255.0, 0, 1);
                v = 0.5 - Math.Sin(Math.Asin(1 - 2 * v) / 3); // inverse of the smoothstep tone curve 3v² − 2v³
                rgb[k] = Math.Pow(Math.Max(v, 1e-8), 2.2);
            }
            int ch = BayerChannel(x, y);
            double cam = p.RgbToCamera[ch * 3] * rgb[0] + p.RgbToCamera[ch * 3 + 1] * rgb[1] + p.RgbToCamera[ch * 3 + 2] * rgb[2];
            raw[i] = Math.Clamp(cam / wb[ch], 0, 1);
        }

        var rng = new DegradationRng(p.NoiseSeed);
        for (int i = 0; i < raw.Length; i++)
            raw[i] = Math.Clamp(raw[i] + Math.Sqrt(p.ShotNoise * raw[i] + p.ReadNoise) * rng.Normal(), 0, 1);

        var dst = new float[w * h * c];
        Span<double> cam3 = stackalloc double[3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            for (int k = 0; k < 3; k++) cam3[k] = Math.Clamp(Demosaic(raw, w, h, x, y, k) * wb[k], 0, 1);
            int i = y * w + x;
            for (int k = 0; k < 3; k++)
            {
                double v = camToRgb[k * 3] * cam3[0] + camToRgb[k * 3 + 1] * cam3[1] + camToRgb[k * 3 + 2] * cam3[2];
                v = Math.Pow(Math.Clamp(v, 1e-8, 1), 1 / 2.2);
                rgb[k] = Math.Clamp(3 * v * v - 2 * v * v * v, 0, 1) * 255;
            }
            if (cc == 1) dst[i * c] = (float)((rgb[0] + rgb[1] + rgb[2]) / 3);
            else for (int k = 0; k < 3; k++) dst[i * c + k] = (float)rgb[k];
            if (src.HasAlpha) dst[i * c + cc] = s[i * c + cc];
        }
        return Image.FromF32(dst, w, h, c);
    }

    /// <summary>RGGB: red at (even, even), blue at (odd, odd), green elsewhere.</summary>
    private static int BayerChannel(int x, int y) => (y & 1) == 0 ? ((x & 1) == 0 ? 0 : 1) : ((x & 1) == 0 ? 1 : 2);

    /// <summary>
    /// Bilinear demosaicing as a normalised convolution: the 3×3 bilinear weights (R/B: 1-2-1 tent, G: cross) over the
    /// neighbours that sampled channel k; normalising by the weights present also handles the image border.
    /// </summary>
    private static double Demosaic(double[] raw, int w, int h, int x, int y, int k)
    {
        double sum = 0, weight = 0;
        for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
        {
            int xx = x + dx, yy = y + dy;
            if ((uint)xx >= (uint)w || (uint)yy >= (uint)h || BayerChannel(xx, yy) != k) continue;
            double wt = k == 1 ? (dx == 0 && dy == 0 ? 4 : dx == 0 || dy == 0 ? 1 : 0) : (2 - Math.Abs(dx)) * (2 - Math.Abs(dy));
            sum += wt * raw[yy * w + xx];
            weight += wt;
        }
        return weight > 0 ? sum / weight : 0;
    }

    private static double[] Invert3(double[] m)
    {
        double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
        double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
        if (Math.Abs(det) < 1e-9) throw new ArgumentException("camera colour matrix is singular");
        return [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det,
                (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det,
                (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det];
    }
}
