using PFStorer.Training.Metrics;
using Xunit;

namespace PFStorer.Training.Tests.Metrics;

/// <summary>PSNR and both SSIM settings against scikit-image's numbers in image_ops.json (bound 1e-4, absolute).</summary>
public class ImageMetricsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Pairs() => new(ImageOpsFixture.MetricPairs());

    [Theory]
    [MemberData(nameof(Pairs))]
    public void MatchesSkimage(string name)
    {
        var reference = ImageOpsFixture.Input;
        var other = ImageOpsFixture.U8(name);
        double psnr = ImageMetrics.Psnr(reference, other);
        double ssimG = ImageMetrics.Ssim(reference, other, SsimWindow.Gaussian);
        double ssimU = ImageMetrics.Ssim(reference, other, SsimWindow.Uniform);
        double ep = Math.Abs(psnr - ImageOpsFixture.Metric(name, "psnr"));
        double eg = Math.Abs(ssimG - ImageOpsFixture.Metric(name, "ssim_gaussian"));
        double eu = Math.Abs(ssimU - ImageOpsFixture.Metric(name, "ssim_default"));
        output.WriteLine($"{name}: psnr {psnr:F6} (|Δ| {ep:E1}), ssim gaussian {ssimG:F6} (|Δ| {eg:E1}), ssim uniform {ssimU:F6} (|Δ| {eu:E1})");
        Assert.True(ep < 1e-4, $"{name}: PSNR off by {ep:E2}");
        Assert.True(eg < 1e-4, $"{name}: Gaussian SSIM off by {eg:E2}");
        Assert.True(eu < 1e-4, $"{name}: uniform SSIM off by {eu:E2}");
    }

    [Fact]
    public void IdenticalImagesScorePerfectly()
    {
        var x = ImageOpsFixture.Input;
        Assert.Equal(double.PositiveInfinity, ImageMetrics.Psnr(x, x));
        Assert.Equal(1.0, ImageMetrics.Ssim(x, x), 12);
    }
}
