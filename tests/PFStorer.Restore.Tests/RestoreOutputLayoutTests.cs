using PFStorer.Images;
using Xunit;

namespace PFStorer.Restore.Tests;

/// <summary>
/// `restore` through the real host: RGBA and gray inputs keep their layout, 16-bit PNG output on request, JPEG and WebP
/// outputs, and option combinations a format cannot honour refused before any weights are read.
/// </summary>
public class RestoreOutputLayoutTests
{
    /// <summary>The 32×32 sample with a horizontal alpha ramp, and its gray version.</summary>
    private static (Image Rgba, Image Gray) Inputs()
    {
        var rgb = ImageFile.Read(HostRunner.SampleImage);
        var ramp = Enumerable.Range(0, rgb.Width * rgb.Height).Select(p => (float)(p % rgb.Width * 255 / (rgb.Width - 1))).ToArray();
        return (ImageChannels.WithAlpha(rgb, ramp), ImageChannels.RgbToGray(rgb));
    }

    [Fact]
    public void RgbaAndGrayInputsKeepTheirLayout()
    {
        using var host = new HostRunner();
        var (rgba, gray) = Inputs();
        Directory.CreateDirectory(host.PathOf("in"));
        File.WriteAllBytes(host.PathOf("in", "rgba.png"), ImageFile.Encode(rgba, ImageSaveOptions.Png()));
        File.WriteAllBytes(host.PathOf("in", "gray.png"), ImageFile.Encode(gray, ImageSaveOptions.Png()));

        var (code, stdout, stderr) = host.Restore(host.PathOf("in"), "-o", host.PathOf("out"));
        Assert.True(code == 0, stdout + stderr);
        var outRgba = ImageFile.Read(host.PathOf("out", "rgba.png"));
        Assert.Equal((128, 128, 4, PixelKind.U8), (outRgba.Width, outRgba.Height, outRgba.Channels, outRgba.Kind));
        // The ramp ×4 stays a ramp: transparent on the left edge, opaque on the right.
        var alpha = ImageChannels.AlphaPlane(outRgba);
        Assert.True(alpha[64 * 128] <= 2 && alpha[64 * 128 + 127] >= 253, $"alpha at the edges: {alpha[64 * 128]}, {alpha[64 * 128 + 127]}");
        var outGray = ImageFile.Read(host.PathOf("out", "gray.png"));
        Assert.Equal((128, 128, 1), (outGray.Width, outGray.Height, outGray.Channels));
    }

    [Fact]
    public void SixteenBitPngAndLossyFormatsOnRequest()
    {
        using var host = new HostRunner();
        var (rgba, _) = Inputs();
        File.WriteAllBytes(host.PathOf("rgba.png"), ImageFile.Encode(rgba, ImageSaveOptions.Png()));

        var wide = host.Restore(host.PathOf("rgba.png"), "-o", host.PathOf("png16"), "--bit-depth", "16");
        Assert.True(wide.ExitCode == 0, wide.Stdout + wide.Stderr);
        var png16 = ImageFile.Read(host.PathOf("png16", "rgba.png"));
        Assert.Equal((4, PixelKind.F32), (png16.Channels, png16.Kind));
        // Unrounded output: most samples fall between the 8-bit levels.
        Assert.True(png16.F32!.Count(v => v != MathF.Round(v)) > png16.Length / 2, "16-bit output holds only 8-bit levels");
        Assert.Equal("2", ImageFile.ReadText(host.PathOf("png16", "rgba.png"))["pfstorer:steps"]);

        var webp = host.Restore(host.PathOf("rgba.png"), "-o", host.PathOf("lossy"), "--format", "webp", "--quality", "80");
        Assert.True(webp.ExitCode == 0, webp.Stdout + webp.Stderr);
        Assert.Equal(4, ImageFile.Read(host.PathOf("lossy", "rgba.webp")).Channels);

        var jpg = host.Restore(host.PathOf("rgba.png"), "-o", host.PathOf("lossy"), "--format", "jpg");
        Assert.True(jpg.ExitCode == 0, jpg.Stdout + jpg.Stderr);
        Assert.Contains("drops it", jpg.Stdout);
        Assert.Equal(3, ImageFile.Read(host.PathOf("lossy", "rgba.jpg")).Channels);
    }

    [Theory]
    [InlineData("--format", "jpg", "--bit-depth", "16", "needs PNG")]
    [InlineData("--format", "webp", "--quality", "0", "1..100")]
    public void ImpossibleCombinationsStopBeforeTheWeights(string o1, string v1, string o2, string v2, string message)
    {
        using var host = new HostRunner();
        // Weights that do not exist: the refusal must come first.
        var (code, _, stderr) = host.Run("restore", HostRunner.SampleImage, o1, v1, o2, v2, "--weights", host.PathOf("none.ckpt"), "--vae", host.PathOf("none.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }
}
