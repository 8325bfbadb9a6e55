using PFStorer.Graph.Imaging;
using PFStorer.Training.Degradations;
using PFStorer.Training.Metrics;
using Xunit;

namespace PFStorer.Training.Tests.Degradations;

/// <summary>
/// JPEG through TurboJPEG against OpenCV 4.6's imencode/imdecode (fixtures/image-ops). Decoding OpenCV's files must
/// agree within 1 grey level (it is bit-exact here). Encoding cannot be held to that: the fixture's encoder wrote the
/// same headers, quantisation and Huffman tables as ours but different entropy-coded data (a different libjpeg build),
/// so our round trip is held to the same rate–distortion point instead: PSNR against the input within 0.5 dB of
/// OpenCV's and a mean difference to OpenCV's pixels under 1.5 levels.
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
        var decoded = JpegCodec.Decode(ImageOpsFixture.Bytes($"jpeg.q{quality}.bytes"), $"jpeg.q{quality}.bytes");
        double decodeDiff = ImageOpsFixture.MaxAbsDiff(decoded, expected);

        var roundTrip = Noise.Jpeg(ImageOpsFixture.Input.ToF32(), quality);
        double roundMax = ImageOpsFixture.MaxAbsDiff(roundTrip, expected);
        double roundMean = roundTrip.F32!.Zip(expected.U8!, (a, b) => Math.Abs(a - b)).Average();
        double ours = ImageMetrics.Psnr(ImageOpsFixture.Input, roundTrip), theirs = ImageOpsFixture.Metric($"jpeg.q{quality}", "psnr");
        output.WriteLine($"q{quality}: decode max |diff| {decodeDiff}; round trip vs OpenCV max {roundMax}, mean {roundMean:F3}; PSNR ours {ours:F3} dB, OpenCV {theirs:F3} dB");
        Assert.True(decodeDiff <= 1, $"q{quality}: decode differs by {decodeDiff}");
        Assert.True(Math.Abs(ours - theirs) < 0.5, $"q{quality}: round-trip PSNR {ours:F3} dB vs OpenCV's {theirs:F3} dB");
        Assert.True(roundMean < 1.5, $"q{quality}: round trip mean |diff| to OpenCV {roundMean:F3}");
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
