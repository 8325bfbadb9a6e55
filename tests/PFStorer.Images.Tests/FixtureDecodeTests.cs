using Xunit;

namespace PFStorer.Images.Tests;

/// <summary>
/// Every format and variant we promise to read, decoded by ImageSharp and compared with pixels made independently
/// (tests/fixtures/images: Pillow, OpenCV, or the source samples of a lossless file). Lossless files must match
/// exactly, in layout (gray, gray+alpha, RGB, RGBA) and in precision (16-bit samples as v/257 in F32). Lossy files
/// compare two decoders of the same bytes, which the JPEG and WebP standards do not require to agree bit for bit
/// (IDCT arithmetic, chroma upsampling): held to a max and a mean difference, stated below.
/// </summary>
public class FixtureDecodeTests(ITestOutputHelper output)
{
    /// <summary>
    /// (max, mean) |difference| allowed between ImageSharp and libjpeg-turbo (Pillow, OpenCV) or libwebp on smooth content
    /// at q90–95. With 4:2:0 chroma the decoders' upsampling filters differ (libjpeg-turbo's "fancy" triangle filter against
    /// ImageSharp's), which moves the fine chroma texture of these fixtures by a few levels; without subsampling the two
    /// agree to the IDCT's rounding. Measured here: 9 / 2.44 (q90 4:2:0), 4 / 0.78 (q95 4:2:0, EXIF files), 2 / 0.04
    /// (4:4:4), 1 / 0.03 (gray), 2 / 0.86 (CMYK), 0 / 0 (WebP).
    /// </summary>
    private static (double Max, double Mean) Bound(string name)
        => name is "jpeg_baseline" or "jpeg_progressive" || name.StartsWith("exif", StringComparison.Ordinal) ? (10, 3) : (2, 1);

    public static TheoryData<string> Lossless() => [.. ImageFixtures.Names(f => !f.Lossy)];
    public static TheoryData<string> Lossy() => [.. ImageFixtures.Names(f => f.Lossy)];

    [Theory]
    [MemberData(nameof(Lossless))]
    public void LosslessFilesDecodeExactly(string name)
    {
        var fixture = ImageFixtures.Get(name);
        var image = ImageFile.Read(fixture.Path);
        AssertLayout(fixture, image);
        var expected = fixture.Expected();
        var got = image.ToF32().F32!;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(got[i] == expected[i], $"{name} ({fixture.Maker}): sample {i} (pixel {i / fixture.Channels}, channel {i % fixture.Channels}) is {got[i]}, expected {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Lossy))]
    public void LossyFilesDecodeCloseToAnotherDecoder(string name)
    {
        var fixture = ImageFixtures.Get(name);
        var image = ImageFile.Read(fixture.Path);
        AssertLayout(fixture, image);
        var expected = fixture.Expected();
        var got = image.ToF32().F32!;
        var diff = expected.Zip(got, (e, g) => Math.Abs(e - g)).ToArray();
        double max = diff.Max(), mean = diff.Average();
        output.WriteLine($"{name} ({fixture.Maker}): max |diff| {max}, mean {mean:F3}");
        var bound = Bound(name);
        Assert.True(max <= bound.Max && mean <= bound.Mean, $"{name}: max |diff| {max} (bound {bound.Max}), mean {mean:F3} (bound {bound.Mean})");
    }

    private static void AssertLayout(ImageFixture fixture, Image image)
    {
        Assert.Equal((fixture.Width, fixture.Height, fixture.Channels), (image.Width, image.Height, image.Channels));
        Assert.Equal(fixture.Wide ? PixelKind.F32 : PixelKind.U8, image.Kind);
    }
}
