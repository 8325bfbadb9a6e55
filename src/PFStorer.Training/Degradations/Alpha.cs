using PFStorer.Images;

namespace PFStorer.Training.Degradations;

/// <summary>Splitting alpha off before degrading colour, and putting it back afterwards.</summary>
public static class Alpha
{
    /// <summary><paramref name="colour"/> (1 or 3 channels, F32) with the alpha plane of <paramref name="alphaSource"/> appended.</summary>
    public static Image CarryOver(Image colour, Image alphaSource)
    {
        if (!alphaSource.HasAlpha) return colour;
        if (colour.Width != alphaSource.Width || colour.Height != alphaSource.Height)
            throw new ArgumentException("alpha can only be carried over between images of the same size");
        int cc = colour.Channels, c = cc + 1, n = colour.Width * colour.Height;
        var src = colour.ToF32().F32!;
        var alpha = Filtering.Samples(alphaSource);
        var dst = new float[n * c];
        for (int p = 0; p < n; p++)
        {
            src.AsSpan(p * cc, cc).CopyTo(dst.AsSpan(p * c, cc));
            dst[p * c + cc] = alpha[p * alphaSource.Channels + alphaSource.Channels - 1];
        }
        return Image.FromF32(dst, colour.Width, colour.Height, c);
    }
}
