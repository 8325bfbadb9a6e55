using BenchmarkDotNet.Attributes;
using PFStorer.Images;
using PFStorer.Training.Degradations;

namespace PFStorer.Benchmarks;

/// <summary>
/// Light and heavy degradation of one 512² RGB image with every optional step switched on (the most expensive draw
/// short of the largest kernels), so the figure bounds the per-image cost of building a training or evaluation set.
/// </summary>
[MemoryDiagnoser]
public class DegradationBenchmarks
{
    private Image _image = null!;

    private static readonly DegradationParameters Light = new(DegradationLevel.Light, 1,
        First: new FirstOrderParameters(3.0, Degradation.BlurKernelSize, 2.5, 1.5, 7, 60));

    private static readonly DegradationParameters Heavy = new(DegradationLevel.Heavy, 2,
        CameraNoise: CameraNoise.Sample(new DegradationRng(3)),
        MotionBlur: new MotionBlurParameters(15, 0.7),
        MedianKernelSize: 3,
        First: new FirstOrderParameters(3.0, Degradation.BlurKernelSize, 4.0, 8.0, 11, 50),
        Sinc: new SincParameters(Math.PI / 2, 21),
        Second: new FirstOrderParameters(2.0, Degradation.BlurKernelSize, 3.0, 5.0, 13, 70));

    [GlobalSetup]
    public void Setup()
    {
        // A deterministic 512² photo stand-in: smooth colour gradients plus fine texture (JPEG and median costs depend on content).
        const int n = 512;
        var rng = new DegradationRng(42);
        var f = new float[n * n * 3];
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
        for (int c = 0; c < 3; c++)
            f[(y * n + x) * 3 + c] = (float)Math.Clamp(128 + 80 * Math.Sin((x * (c + 1) + y * 0.7) / 37.0) + 20 * rng.Normal(), 0, 255);
        _image = Image.FromF32(f, n, n, 3).ToU8();
    }

    [Benchmark]
    public Image LightDegradation512() => Degradation.Apply(_image, Light);

    [Benchmark]
    public Image HeavyDegradation512() => Degradation.Apply(_image, Heavy);
}
