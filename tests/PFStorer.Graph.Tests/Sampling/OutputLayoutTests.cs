using System.Runtime.InteropServices;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>
/// The restorer gives back the input's layout (GFPGAN / Real-ESRGAN behaviour): alpha upscaled on its own and
/// re-attached, gray in gray out, and the unrounded F32 result for 16-bit outputs.
/// </summary>
public sealed class OutputLayoutTests(FixtureRunTests.TinyRestorer tiny) : IClassFixture<FixtureRunTests.TinyRestorer>
{
    private static Image RandomRgb(Random rng, int w, int h)
    {
        var b = new byte[w * h * 3];
        rng.NextBytes(b);
        return Image.FromU8(b, w, h, 3);
    }

    [Fact]
    public void AlphaIsUpscaledBicubicLikeOpenCvAndReattached()
    {
        // png_rgba8 (23×13, random alpha) against OpenCV's float INTER_CUBIC ×4 of the same alpha (tests/fixtures/images).
        var input = ImageFile.Read(Fixtures.Path("images", "png_rgba8.png"));
        var expected = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Fixtures.Path("images", "expected", "alpha_of_png_rgba8_x4.f32"))).ToArray();
        var rng = Reference.NewRandom(out int seed);
        var restored = RandomRgb(rng, 4 * input.Width, 4 * input.Height);

        var f32 = Restorer.MatchLayout(input, restored.ToF32());
        Assert.Equal(4, f32.Channels);
        var alpha = ImageChannels.AlphaPlane(f32);
        // Random alpha overshoots under bicubic; the re-attached plane is clamped to 0..255, so compare clamped values.
        double worst = alpha.Zip(expected, (a, e) => Math.Abs(a - Math.Clamp(e, 0f, 255f))).Max();
        Assert.True(worst < 1e-3, $"alpha ×4 differs from OpenCV's INTER_CUBIC by {worst} (seed {seed})");

        var u8 = Restorer.MatchLayout(input, restored);
        Assert.Equal((4, PixelKind.U8), (u8.Channels, u8.Kind));
        Assert.True(restored.U8.AsSpan().SequenceEqual(u8.WithoutAlpha().U8), $"the colour must be the restorer's, untouched (seed {seed})");
        Assert.True(ImageChannels.AlphaPlane(u8).Zip(alpha, (a, e) => Math.Abs(a - e)).Max() <= 0.5 + 1e-3, "8-bit alpha is the rounded float alpha");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void GrayInputsComeBackGray(int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var input = Image.NewU8(5, 4, channels);
        var restored = RandomRgb(rng, 20, 16);
        var output = Restorer.MatchLayout(input, restored);
        Assert.Equal((20, 16, channels), (output.Width, output.Height, output.Channels));
        var gray = ImageChannels.RgbToGray(restored).U8!;
        for (int p = 0; p < 20 * 16; p++) Assert.True(output.U8![p * channels] == gray[p], $"gray pixel {p} (seed {seed})");
    }

    [Fact]
    public void RestoreKeepsRgbaAndItsF32OutputIsTheUnroundedU8()
    {
        // 32×24 RGBA through the tiny networks, ×4: same seed, 8-bit and F32 outputs. The 8-bit colour truncates as upstream.
        var rng = Reference.NewRandom(out int seed);
        var pixels = new byte[24 * 32 * 4];
        rng.NextBytes(pixels);
        var input = Image.FromU8(pixels, 32, 24, 4);
        var settings = new RestoreSettings { Steps = 2, Seed = 5, TileSize = 8 };
        var u8 = tiny.Restorer.Restore(input, settings, cancel: TestContext.Current.CancellationToken);
        var f32 = tiny.Restorer.Restore(input, settings, cancel: TestContext.Current.CancellationToken, output: PixelKind.F32);
        Assert.Equal((128, 96, 4, PixelKind.U8), (u8.Width, u8.Height, u8.Channels, u8.Kind));
        Assert.Equal((128, 96, 4, PixelKind.F32), (f32.Width, f32.Height, f32.Channels, f32.Kind));
        for (int i = 0; i < u8.Length; i++)
        {
            float expected = i % 4 == 3 ? Image.SaturateU8(f32.F32![i]) : MathF.Floor(f32.F32![i]);
            Assert.True(u8.U8![i] == expected, $"sample {i}: 8-bit {u8.U8[i]}, F32 {f32.F32[i]} (seed {seed})");
        }
    }
}
