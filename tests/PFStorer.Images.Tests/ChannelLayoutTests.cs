using Xunit;

namespace PFStorer.Images.Tests;

/// <summary>
/// What a restorer needs from the image layer: alpha, gray and 16-bit samples survive a write and a read, gray
/// conversion agrees with OpenCV's, and settings a format cannot hold are refused instead of dropped.
/// </summary>
public class ChannelLayoutTests
{
    private const int W = 19, H = 11;

    private static Image RandomU8(Random rng, int channels)
    {
        var b = new byte[W * H * channels];
        rng.NextBytes(b);
        return Image.FromU8(b, W, H, channels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void PngKeepsEveryLayoutExactly(int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var image = RandomU8(rng, channels);
        var back = ImageFile.Decode(ImageFile.Encode(image, ImageSaveOptions.Png()), "layout.png");
        Assert.Equal((channels, PixelKind.U8), (back.Channels, back.Kind));
        Assert.True(image.U8.AsSpan().SequenceEqual(back.U8), $"{channels}-channel PNG round trip differs (seed {seed})");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void WebpKeepsAlphaExactly(int channels)
    {
        // Lossy WebP codes colour as VP8 but alpha losslessly (its ALPH chunk); gray comes back as RGB (WebP has no gray).
        var rng = Reference.NewRandom(out int seed);
        var image = RandomU8(rng, channels);
        var back = ImageFile.Decode(ImageFile.Encode(image, new ImageSaveOptions(OutputFormat.Webp, 90)), "alpha.webp");
        Assert.True(back.HasAlpha, $"WebP lost the alpha channel (seed {seed})");
        var alpha = ImageChannels.AlphaPlane(image);
        Assert.True(alpha.AsSpan().SequenceEqual(ImageChannels.AlphaPlane(back)), $"{channels}-channel WebP alpha differs (seed {seed})");
    }

    [Fact]
    public void JpegKeepsGrayAndDropsAlpha()
    {
        var rng = Reference.NewRandom(out int seed);
        Assert.Equal(1, ImageFile.Decode(ImageFile.Encode(RandomU8(rng, 1), ImageSaveOptions.Jpeg(90)), "gray.jpg").Channels);
        Assert.Equal(1, ImageFile.Decode(ImageFile.Encode(RandomU8(rng, 2), ImageSaveOptions.Jpeg(90)), "gray-alpha.jpg").Channels);
        Assert.Equal(3, ImageFile.Decode(ImageFile.Encode(RandomU8(rng, 4), ImageSaveOptions.Jpeg(90)), "rgba.jpg").Channels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void SixteenBitPngKeepsFullPrecision(int channels)
    {
        // Off-grid floats: the file holds round(v·257), so the read-back is within half a 16-bit step (not 8-bit's 0.5).
        var rng = Reference.NewRandom(out int seed);
        var f = new float[W * H * channels];
        for (int i = 0; i < f.Length; i++) f[i] = (float)(rng.NextDouble() * 255);
        var back = ImageFile.Decode(ImageFile.Encode(Image.FromF32(f, W, H, channels), ImageSaveOptions.Png(sixteenBit: true)), "16.png");
        Assert.Equal((channels, PixelKind.F32), (back.Channels, back.Kind));
        double worst = f.Zip(back.F32!, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 0.5 / 257 + 1e-5, $"16-bit {channels}-channel round trip off by {worst} (bound {0.5 / 257:E2}) (seed {seed})");
    }

    [Fact]
    public void RgbToGrayMatchesOpenCv()
    {
        var rgb = ImageFile.Read(ImageFixtures.Get("png_rgb8").Path);
        var expected = File.ReadAllBytes(Fixtures.Path("images", "expected", "gray_of_png_rgb8.u8"));
        var gray = ImageChannels.RgbToGray(rgb);
        Assert.Equal((rgb.Width, rgb.Height, 1, PixelKind.U8), (gray.Width, gray.Height, gray.Channels, gray.Kind));
        // OpenCV computes in 14-bit fixed point, we in float: a luma within 1e-3 of .5 may round either way.
        int worst = gray.U8!.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1, $"gray differs from OpenCV's COLOR_RGB2GRAY by {worst}");
    }

    [Fact]
    public void GrayThroughRgbAndBackIsExact()
    {
        var rng = Reference.NewRandom(out int seed);
        var gray = RandomU8(rng, 1);
        var rgb = ImageChannels.GrayToRgb(gray);
        Assert.Equal(3, rgb.Channels);
        Assert.True(gray.U8.AsSpan().SequenceEqual(ImageChannels.RgbToGray(rgb).U8), $"gray → RGB → gray changed samples (seed {seed})");
    }

    [Fact]
    public void AlphaPlaneComesOffAndGoesBack()
    {
        var rng = Reference.NewRandom(out int seed);
        var rgba = RandomU8(rng, 4);
        var back = ImageChannels.WithAlpha(rgba.WithoutAlpha(), ImageChannels.AlphaPlane(rgba));
        Assert.True(rgba.U8.AsSpan().SequenceEqual(back.U8), $"alpha off and on again changed samples (seed {seed})");
    }

    [Fact]
    public void SettingsAFormatCannotHoldAreRefused()
    {
        var image = Image.NewU8(4, 4, 3);
        var text = new Dictionary<string, string> { ["Software"] = "PFStorer.Native" };
        Assert.Contains("needs PNG", Assert.Throws<ArgumentException>(() => ImageFile.Encode(image, new ImageSaveOptions(OutputFormat.Jpeg, SixteenBit: true))).Message);
        Assert.Contains("PNG only", Assert.Throws<ArgumentException>(() => ImageFile.Encode(image, new ImageSaveOptions(OutputFormat.Webp, Text: text))).Message);
        Assert.Contains("1..100", Assert.Throws<ArgumentException>(() => ImageFile.Encode(image, ImageSaveOptions.Jpeg(0))).Message);
    }
}
