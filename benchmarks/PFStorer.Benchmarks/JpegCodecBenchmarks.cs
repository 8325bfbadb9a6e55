using BenchmarkDotNet.Attributes;
using PFStorer.Images;
using PFStorer.Training.Degradations;

namespace PFStorer.Benchmarks;

/// <summary>
/// JPEG encode (quality 90, 4:2:0) and decode of an RGB photo stand-in at 512² (a training crop, the degradations' JPEG
/// step) and 4000×3000 (a 12-megapixel camera photo, what `restore` reads), through ImageSharp. The figures before
/// (TurboJPEG through P/Invoke) and after the move are in docs/images.md.
/// </summary>
[MemoryDiagnoser]
public class JpegCodecBenchmarks
{
    private Image _image = null!;
    private byte[] _jpeg = null!;

    [Params("512x512", "4000x3000")]
    public string Size { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var wh = Size.Split('x').Select(int.Parse).ToArray();
        int w = wh[0], h = wh[1];
        // Smooth colour gradients plus fine texture, as in DegradationBenchmarks: entropy coding costs depend on content.
        var rng = new DegradationRng(42);
        var f = new float[w * h * 3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
            f[(y * w + x) * 3 + c] = (float)Math.Clamp(128 + 80 * Math.Sin((x * (c + 1) + y * 0.7) / 37.0) + 20 * rng.Normal(), 0, 255);
        _image = Image.FromF32(f, w, h, 3).ToU8();
        _jpeg = Encode();
    }

    [Benchmark]
    public byte[] Encode() => ImageFile.Encode(_image, ImageSaveOptions.Jpeg(90));

    [Benchmark]
    public Image Decode() => ImageFile.Decode(_jpeg, "bench.jpg");
}
