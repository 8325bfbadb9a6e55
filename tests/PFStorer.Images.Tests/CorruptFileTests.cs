using System.Buffers.Binary;
using Xunit;

namespace PFStorer.Images.Tests;

/// <summary>Bad files, all derived from a valid one in the test, must give an ImageFormatException naming the file.</summary>
public class CorruptFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pfstorer-corrupt-");
    private readonly Image _image;

    public CorruptFileTests()
    {
        var rng = new Random(1234);
        var b = new byte[96 * 64 * 3];
        rng.NextBytes(b);
        _image = Image.FromU8(b, 96, 64, 3);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private ImageFormatException ReadFails(byte[] bytes, string name, long maxPixels = ImageFile.DefaultMaxPixels)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path, maxPixels));
        Assert.Contains(path, e.Message);
        return e;
    }

    private byte[] Png => ImageFile.Encode(_image, ImageSaveOptions.Png());
    private byte[] Jpeg => ImageFile.Encode(_image, ImageSaveOptions.Jpeg(90));

    [Fact]
    public void EmptyFile() => Assert.Contains("empty", ReadFails([], "empty.png").Message);

    [Fact]
    public void UnknownFormat() => Assert.Contains("not a PNG, JPEG", ReadFails("plain text, not an image"u8.ToArray(), "notes.png").Message);

    [Fact]
    public void TruncatedGif() => ReadFails("GIF89a\x10\x00"u8.ToArray(), "short.gif");

    [Fact]
    public void FormatsWeDoNotPromiseAreRefused()
    {
        // ImageSharp can read PBM (and TGA); our configuration leaves them out (docs/images.md).
        Assert.Contains("not a PNG, JPEG", ReadFails("P5\n4 4\n255\n"u8.ToArray().Concat(new byte[16]).ToArray(), "image.pgm").Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.02)]
    public void TruncatedPng(double keep) => ReadFails(Png[..(int)(Png.Length * keep)], $"truncated-{keep}.png");

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.05)]
    public void TruncatedJpeg(double keep) => ReadFails(Jpeg[..(int)(Jpeg.Length * keep)], $"truncated-{keep}.jpg");

    [Fact]
    public void PngWithFlippedDataByte()
    {
        var bytes = Png;
        bytes[bytes.Length / 2] ^= 0x5A; // inside IDAT: the chunk CRC no longer matches
        ReadFails(bytes, "flipped.png");
    }

    [Fact]
    public void JpegWithDestroyedHeader()
    {
        var bytes = Jpeg;
        int sof = FindMarker(bytes, 0xC0);
        Assert.True(sof > 0, "encoder output has no SOF0 marker");
        bytes.AsSpan(sof + 2, 8).Fill(0xFF); // length, precision and size of the frame header
        ReadFails(bytes, "badheader.jpg");
    }

    [Fact]
    public void ZeroSizedPng()
    {
        // A well-formed file (valid CRCs) that declares a 0×5 image.
        ReadFails(PngBytes.Build(0, 5, 8, 2, []), "zero.png");
    }

    [Fact]
    public void PixelLimitIsEnforcedForBothFormats()
    {
        Assert.Contains("exceeds the limit", ReadFails(Png, "big.png", maxPixels: 96 * 64 - 1).Message);
        Assert.Contains("exceeds the limit", ReadFails(Jpeg, "big.jpg", maxPixels: 96 * 64 - 1).Message);
        foreach (var name in new[] { "webp_lossy", "bmp_rgb24", "tiff_rgb_lzw", "gif_animated" })
        {
            var fixture = ImageFixtures.Get(name);
            var bytes = File.ReadAllBytes(fixture.Path);
            Assert.Contains("exceeds the limit", ReadFails(bytes, fixture.File, maxPixels: fixture.Width * fixture.Height - 1).Message);
        }
    }

    [Fact]
    public void PixelLimitIsCheckedFromTheHeaderBeforeDecoding()
    {
        // A valid PNG that declares 100000×100000 (10 G pixels, 80 GB as RGBA64) in 100 kB: decoding it would fail
        // with an allocation error, so the limit's message shows the header was checked first.
        var huge = PngBytes.Build(100_000, 100_000, 1, 0, []);
        Assert.Contains("exceeds the limit of 100000000", ReadFails(huge, "huge.png").Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(_dir.FullName, "missing.png");
        Assert.Contains(path, Assert.Throws<ImageFormatException>(() => ImageFile.Read(path)).Message);
    }

    private static int FindMarker(byte[] b, byte marker)
    {
        for (int i = 2; i + 1 < b.Length; i++)
            if (b[i] == 0xFF && b[i + 1] == marker) return i;
        return -1;
    }
}
