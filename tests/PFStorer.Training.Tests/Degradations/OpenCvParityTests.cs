using Xunit;
using PFStorer.Images;
using PFStorer.Training.Degradations;

namespace PFStorer.Training.Tests.Degradations;

/// <summary>
/// Our OpenCV-convention ops against OpenCV 4.6's own outputs (fixtures/image-ops). OpenCV computes 8-bit linear
/// filters and resizes in fixed point, we in float32 then round: ≤ 1 grey level is the stated bound; float inputs are
/// compared at 1e-3 of the 0–255 range (float32 summation order only). The median involves no arithmetic: exact.
/// </summary>
public class OpenCvParityTests(ITestOutputHelper output)
{
    private static Image Input => ImageOpsFixture.Input;

    private void AssertWithin(Image expected, Image actual, double tolerance, string what)
    {
        double diff = ImageOpsFixture.MaxAbsDiff(actual, expected);
        output.WriteLine($"{what}: max |diff| = {diff:G4}");
        Assert.True(diff <= tolerance, $"{what}: max |diff| {diff} > {tolerance}");
    }

    [Theory]
    [InlineData("gaussian_blur.k5_s1.0", 5, 1.0)]
    [InlineData("gaussian_blur.k7_s1.5", 7, 1.5)]
    [InlineData("gaussian_blur.k0_s2.0", 0, 2.0)]
    [InlineData("gaussian_blur.k21_s3.0", 21, 3.0)]
    [InlineData("gaussian_blur.k3_s0.0", 3, 0.0)]
    public void GaussianBlurMatchesOpenCv(string name, int ksize, double sigma)
    {
        AssertWithin(ImageOpsFixture.U8(name), Filtering.GaussianBlur(Input, ksize, sigma), 1, name);
        if (name == "gaussian_blur.k5_s1.0")
            AssertWithin(ImageOpsFixture.F32(name + ".f32"), Filtering.GaussianBlur(Input.ToF32(), ksize, sigma), 1e-3, name + ".f32");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void MedianBlurIsExact(int ksize)
        => AssertWithin(ImageOpsFixture.U8($"median_blur.{ksize}"), Filtering.MedianBlur(Input, ksize), 0, $"median {ksize}");

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void MedianOfRandomFloatsMatchesSortingReference(int ksize)
    {
        // Distinct float values (no ties, unlike 8-bit photos) exercise the selection fully.
        int seed = Random.Shared.Next();
        var rng = new Random(seed);
        const int w = 37, h = 23, c = 3;
        var f = new float[w * h * c];
        for (int i = 0; i < f.Length; i++) f[i] = (float)(rng.NextDouble() * 255);
        var actual = Filtering.MedianBlur(Image.FromF32(f, w, h, c), ksize).F32!;
        int r = ksize / 2;
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        for (int ch = 0; ch < c; ch++)
        {
            var window = new List<float>();
            for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
                window.Add(f[(Math.Clamp(y + dy, 0, h - 1) * w + Math.Clamp(x + dx, 0, w - 1)) * c + ch]);
            window.Sort();
            Assert.True(actual[(y * w + x) * c + ch] == window[window.Count / 2], $"median {ksize} at ({x},{y},{ch}) (seed {seed})");
        }
    }

    [Theory]
    [InlineData("area", Interpolation.Area)]
    [InlineData("linear", Interpolation.Linear)]
    [InlineData("cubic", Interpolation.Cubic)]
    public void ResizeMatchesOpenCv(string suffix, Interpolation mode)
    {
        AssertWithin(ImageOpsFixture.U8($"resize.down_fx0.4.{suffix}"), Resize.ByFactor(Input, 1 / 2.5, 1 / 2.5, mode), 1, $"fx 0.4 {suffix}");
        AssertWithin(ImageOpsFixture.F32($"resize.down_fx0.4.{suffix}.f32"), Resize.ByFactor(Input.ToF32(), 1 / 2.5, 1 / 2.5, mode), 1e-3, $"fx 0.4 {suffix} f32");
        AssertWithin(ImageOpsFixture.U8($"resize.down_dsize51.{suffix}"), Resize.ToSize(Input, 51, 51, mode), 1, $"dsize 51 {suffix}");
        AssertWithin(ImageOpsFixture.U8($"resize.up_x3.{suffix}"), Resize.ByFactor(Input, 3, 3, mode), 1, $"x3 {suffix}");
        var down = ImageOpsFixture.U8($"resize.down_fx0.4.{suffix}");
        AssertWithin(ImageOpsFixture.U8($"resize.roundtrip.{suffix}"), Resize.ToSize(down, 128, 128, mode), 1, $"roundtrip {suffix}");
    }

    [Fact]
    public void FxAndDsizeFormsDiffer()
    {
        // The fixture documents that OpenCV maps with fx, not dsize/ssize; our two entry points must reproduce the split.
        var fx = Resize.ByFactor(Input, 1 / 2.5, 1 / 2.5, Interpolation.Area);
        var dsize = Resize.ToSize(Input, 51, 51, Interpolation.Area);
        Assert.True(ImageOpsFixture.MaxAbsDiff(fx, dsize) > 1, "fx and dsize forms should give different pixels");
    }

    [Fact]
    public void KernelsMatchBasicsr()
    {
        var aniso = BlurKernels.BivariateGaussian(21, 2.0, 0.8, 0.5);
        var sinc = BlurKernels.CircularLowpass(Math.PI / 3, 21);
        AssertKernel(ImageOpsFixture.Floats("kernel.aniso_gaussian"), aniso, "aniso");
        AssertKernel(ImageOpsFixture.Floats("kernel.sinc"), sinc, "sinc");
    }

    private void AssertKernel(float[] expected, float[] actual, string what)
    {
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        output.WriteLine($"kernel {what}: max |diff| = {max:E2}");
        Assert.True(max < 1e-7, $"kernel {what}: max |diff| {max:E2} ≥ 1e-7");
    }

    [Theory]
    [InlineData("aniso_gaussian")]
    [InlineData("sinc")]
    public void Filter2DMatchesOpenCv(string kernel)
    {
        var k = ImageOpsFixture.Floats($"kernel.{kernel}");
        AssertWithin(ImageOpsFixture.U8($"filter2d.{kernel}"), Filtering.Filter2D(Input, k, 21), 1, $"filter2d {kernel}");
        AssertWithin(ImageOpsFixture.F32($"filter2d.{kernel}.f32"), Filtering.Filter2D(Input.ToF32(), k, 21), 1e-3, $"filter2d {kernel} f32");
    }
}
