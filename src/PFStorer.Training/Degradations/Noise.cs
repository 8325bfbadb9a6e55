using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>
/// Additive noise and JPEG compression (basicsr degradations.py semantics, on the 0–255 scale). Alpha, when present, is
/// left untouched. Every function returns a new F32 image clipped to [0, 255].
/// </summary>
public static class Noise
{
    /// <summary>
    /// x + σ·N(0,1). Colour: an independent draw per channel; gray: one draw per pixel shared by the colour channels
    /// (luminance-only noise, basicsr's gray_noise).
    /// </summary>
    public static Image Gaussian(Image src, double sigma, bool gray, DegradationRng rng)
    {
        var dst = src.ToF32();
        var f = dst.F32!;
        int c = src.Channels, cc = src.ColorChannels;
        for (int p = 0; p < src.Width * src.Height; p++)
        {
            double shared = gray ? rng.Normal() : 0;
            for (int ch = 0; ch < cc; ch++)
            {
                double n = gray ? shared : rng.Normal();
                f[p * c + ch] = Clip(f[p * c + ch] + sigma * n);
            }
        }
        return dst;
    }

    /// <summary>
    /// basicsr generate_poisson_noise: photon counts Poisson(x·v)/v with v = 2^⌈log2(#distinct 8-bit levels)⌉, the noise
    /// (out − x) scaled by <paramref name="scale"/>. Gray computes it on the BT.601 luma and adds it to every channel.
    /// </summary>
    public static Image Poisson(Image src, double scale, bool gray, DegradationRng rng)
    {
        var dst = src.ToF32();
        var f = dst.F32!;
        int c = src.Channels, cc = src.ColorChannels, n = src.Width * src.Height;
        var levels = new HashSet<int>();
        var unit = new double[n * cc]; // rounded to 8-bit levels, on [0, 1]
        for (int p = 0; p < n; p++)
        for (int ch = 0; ch < cc; ch++)
        {
            int level = Image.SaturateU8(f[p * c + ch]);
            unit[p * cc + ch] = level / 255.0;
            if (!gray) levels.Add(level);
        }
        if (gray)
        {
            var luma = new double[n];
            for (int p = 0; p < n; p++)
            {
                double y = cc >= 3 ? 0.299 * unit[p * cc] + 0.587 * unit[p * cc + 1] + 0.114 * unit[p * cc + 2] : unit[p * cc];
                int level = (int)Math.Round(y * 255, MidpointRounding.ToEven); // basicsr rounds the gray image to 8 bits too
                luma[p] = level / 255.0;
                levels.Add(level);
            }
            double v = Math.Pow(2, Math.Ceiling(Math.Log2(levels.Count)));
            for (int p = 0; p < n; p++)
            {
                double noise = rng.Poisson(luma[p] * v) / v - luma[p];
                for (int ch = 0; ch < cc; ch++) f[p * c + ch] = Clip(f[p * c + ch] + 255 * scale * noise);
            }
            return dst;
        }
        double vals = Math.Pow(2, Math.Ceiling(Math.Log2(levels.Count)));
        for (int p = 0; p < n; p++)
        for (int ch = 0; ch < cc; ch++)
        {
            double x = unit[p * cc + ch];
            f[p * c + ch] = Clip(f[p * c + ch] + 255 * scale * (rng.Poisson(x * vals) / vals - x));
        }
        return dst;
    }

    /// <summary>
    /// A real JPEG round trip at <paramref name="quality"/> through ImageSharp (rounded to 8 bits first, as any encoder
    /// must); docs/images.md says how its artefacts differ from OpenCV's libjpeg.
    /// </summary>
    public static Image Jpeg(Image src, int quality)
    {
        var colour = src.HasAlpha ? src.WithoutAlpha() : src;
        var decoded = ImageFile.Decode(ImageFile.Encode(colour, ImageSaveOptions.Jpeg(quality)), $"<jpeg q{quality}>").ToF32();
        return src.HasAlpha ? Alpha.CarryOver(decoded, src) : decoded;
    }

    private static float Clip(double v) => (float)Math.Clamp(v, 0.0, 255.0);
}
