using PFStorer.Images;
using PFStorer.Training.Degradations;
using PFStorer.Training.Metrics;
using Xunit;

namespace PFStorer.Training.Tests.Degradations;

/// <summary>
/// JPEG through ImageSharp against OpenCV 4.6's imencode/imdecode (fixtures/image-ops). The two codecs are not the
/// same program, so the bounds are those of two correct JPEG implementations (docs/images.md): decoding OpenCV's files
/// must agree at PSNR ≥ 36 dB with mean |diff| ≤ 2 levels (measured 37.4–39.9 dB, 1.3–1.7; the differences sit at sharp
/// chroma edges, where ImageSharp's 4:2:0 upsampling differs from libjpeg's "fancy" filter; 4:4:4 files agree within 2
/// levels, see PFStorer.Images.Tests), and our round trip must land at OpenCV's rate–distortion point: PSNR against the
/// input within 1.5 dB of OpenCV's (measured −0.2 to −1.1 dB) and a mean difference to OpenCV's pixels under 2.5 levels
/// (measured 1.8–2.2). Under TurboJPEG these bounds were max |diff| ≤ 1, 0.5 dB and 1.5 levels.
/// </summary>
public class JpegParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(30)]
    [InlineData(60)]
    [InlineData(95)]
    public void DecodeAndRoundTripMatchOpenCv(int quality)
    {
        var expected = ImageOpsFixture.U8($"jpeg.q{quality}");
        var decoded = ImageFile.Decode(ImageOpsFixture.Bytes($"jpeg.q{quality}.bytes"), $"jpeg.q{quality}.bytes");
        double decodeDiff = ImageOpsFixture.MaxAbsDiff(decoded, expected);
        double decodeMean = decoded.U8!.Zip(expected.U8!, (a, b) => Math.Abs(a - b)).Average();
        double decodePsnr = ImageMetrics.Psnr(decoded, expected);

        var roundTrip = Noise.Jpeg(ImageOpsFixture.Input.ToF32(), quality);
        double roundMax = ImageOpsFixture.MaxAbsDiff(roundTrip, expected);
        double roundMean = roundTrip.F32!.Zip(expected.U8!, (a, b) => Math.Abs(a - b)).Average();
        double ours = ImageMetrics.Psnr(ImageOpsFixture.Input, roundTrip), theirs = ImageOpsFixture.Metric($"jpeg.q{quality}", "psnr");
        output.WriteLine($"q{quality}: decode max |diff| {decodeDiff}, mean {decodeMean:F3}, PSNR {decodePsnr:F2} dB; round trip vs OpenCV max {roundMax}, mean {roundMean:F3}; PSNR ours {ours:F3} dB, OpenCV {theirs:F3} dB");
        Assert.True(decodePsnr >= 36 && decodeMean <= 2, $"q{quality}: decode of OpenCV's file at {decodePsnr:F2} dB, mean |diff| {decodeMean:F3}");
        Assert.True(Math.Abs(ours - theirs) < 1.5, $"q{quality}: round-trip PSNR {ours:F3} dB vs OpenCV's {theirs:F3} dB");
        Assert.True(roundMean < 2.5, $"q{quality}: round trip mean |diff| to OpenCV {roundMean:F3}");
    }

    [Fact]
    public void TorchFilterPathMatches()
    {
        // basicsr's training-time filter2D (reflect pad + conv2d on x/255) is the same correlation with REFLECT_101.
        foreach (var kernel in new[] { "aniso_gaussian", "sinc" })
        {
            var input = ImageOpsFixture.Input.ToF32();
            for (int i = 0; i < input.F32!.Length; i++) input.F32[i] /= 255f;
            var ours = Filtering.Filter2D(input, ImageOpsFixture.Floats($"kernel.{kernel}"), 21);
            double diff = ImageOpsFixture.MaxAbsDiff(ours, ImageOpsFixture.F32($"filter2d_torch.{kernel}"));
            output.WriteLine($"torch filter2D {kernel}: max |diff| {diff:E2}");
            Assert.True(diff < 1e-5, $"torch filter2D {kernel}: max |diff| {diff:E2} ≥ 1e-5");
        }
    }
}
