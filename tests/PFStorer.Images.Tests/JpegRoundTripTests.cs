using Xunit;

namespace PFStorer.Images.Tests;

/// <summary>
/// JPEG round trips of gray and colour through ImageSharp from smooth random images (JPEG is lossy, so the bound is
/// stated per test from the quality used), plus EXIF orientation on hand-built JPEG and PNG files. Decoding of files
/// from other encoders (progressive, CMYK, ...) is in <see cref="FixtureDecodeTests"/>.
/// </summary>
public class JpegRoundTripTests
{
    /// <summary>Smooth content (a random bilinear field) so that q 95 reproduces it within a couple of levels.</summary>
    private static byte[] Smooth(Random rng, int w, int h, int c)
    {
        var corners = new double[4 * c];
        for (int i = 0; i < corners.Length; i++) corners[i] = 30 + 195 * rng.NextDouble();
        var b = new byte[w * h * c];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double u = x / (w - 1.0), v = y / (h - 1.0);
            for (int k = 0; k < c; k++)
                b[(y * w + x) * c + k] = (byte)Math.Round((1 - u) * (1 - v) * corners[k] + u * (1 - v) * corners[c + k]
                                                           + (1 - u) * v * corners[2 * c + k] + u * v * corners[3 * c + k]);
        }
        return b;
    }

    private static double MaxDiff(byte[] a, byte[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    private static double MeanDiff(byte[] a, byte[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Average();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GrayAndColourRoundTrip(int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var src = Image.FromU8(Smooth(rng, 48, 40, channels), 48, 40, channels);
        var back = ImageFile.Decode(ImageFile.Encode(src, ImageSaveOptions.Jpeg(95)), "q95.jpg");
        Assert.Equal((48, 40, channels), (back.Width, back.Height, back.Channels));
        // Gray: DCT quantisation only. Colour adds 4:2:0 chroma subsampling and YCbCr rounding.
        double bound = channels == 1 ? 4 : 8, diff = MaxDiff(src.U8!, back.U8!), mean = MeanDiff(src.U8!, back.U8!);
        Assert.True(diff <= bound && mean <= 1.5, $"{channels}-channel q95 round trip max diff {diff} (bound {bound}), mean {mean:F2} (seed {seed})");
    }

    /// <summary>Four flat quadrants (TL, TR, BL, BR colours) survive JPEG well enough to identify after a rotation.</summary>
    private static readonly byte[][] Quadrant = [[220, 30, 30], [30, 220, 30], [30, 30, 220], [230, 230, 230]];

    private static Image Quadrants(int w, int h)
    {
        var b = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            Quadrant[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)].CopyTo(b, (y * w + x) * 3);
        return Image.FromU8(b, w, h, 3);
    }

    /// <summary>Which source quadrant (0 TL, 1 TR, 2 BL, 3 BR) each displayed quadrant shows, per EXIF orientation.</summary>
    public static TheoryData<int, int[]> Orientations() => new()
    {
        { 1, [0, 1, 2, 3] },
        { 2, [1, 0, 3, 2] }, // mirrored left–right
        { 3, [3, 2, 1, 0] }, // rotated 180°
        { 4, [2, 3, 0, 1] }, // mirrored top–bottom
        { 5, [0, 2, 1, 3] }, // transposed
        { 6, [2, 0, 3, 1] }, // stored rotated: display turns it 90° clockwise
        { 7, [3, 1, 2, 0] }, // transverse
        { 8, [1, 3, 0, 2] }, // display turns it 90° counter-clockwise
    };

    [Theory]
    [MemberData(nameof(Orientations))]
    public void ExifOrientationIsAppliedToJpegAndPng(int orientation, int[] shown)
    {
        const int w = 64, h = 32;
        var src = Quadrants(w, h);
        var jpeg = ImageFile.Decode(PngBytes.WithJpegExif(ImageFile.Encode(src, ImageSaveOptions.Jpeg(95)), PngBytes.ExifOrientation(orientation)), "exif.jpg");
        var png = ImageFile.Decode(PngBytes.Build(w, h, 8, 2, src.U8!, exif: PngBytes.ExifOrientation(orientation, littleEndian: true)), "exif.png");
        foreach (var image in new[] { jpeg, png })
        {
            bool swapped = orientation >= 5;
            Assert.Equal(swapped ? (h, w) : (w, h), (image.Width, image.Height));
            for (int q = 0; q < 4; q++)
            {
                // Sample the middle of each displayed quadrant.
                int x = (q % 2 == 0 ? 1 : 3) * image.Width / 4, y = (q < 2 ? 1 : 3) * image.Height / 4;
                var pixel = image.U8.AsSpan((y * image.Width + x) * 3, 3).ToArray();
                Assert.True(MaxDiff(pixel, Quadrant[shown[q]]) <= 6,
                    $"orientation {orientation}: displayed quadrant {q} shows [{string.Join(",", pixel)}], expected source quadrant {shown[q]}");
            }
        }
    }
}
