using Xunit;

namespace PFStorer.Images.Tests;

/// <summary>
/// Decoding of every PNG pixel format from hand-built files with fresh random samples (seed in every message),
/// compared sample by sample with what the format defines; and our encoder's round trip with tEXt metadata.
/// </summary>
public class PngDecodeEncodeTests
{
    private const int W = 13, H = 7; // odd sizes: row padding and packing bugs show up

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    [Theory]
    [InlineData(0, 1)] // gray
    [InlineData(4, 2)] // gray + alpha
    [InlineData(2, 3)] // RGB
    [InlineData(6, 4)] // RGBA
    public void EightBitFormatsDecodeExactly(int colorType, int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var samples = RandomBytes(rng, W * H * channels);
        var image = ImageFile.Decode(PngBytes.Build(W, H, 8, colorType, samples), "test.png");
        Assert.Equal((W, H, channels, PixelKind.U8), (image.Width, image.Height, image.Channels, image.Kind));
        Assert.True(samples.AsSpan().SequenceEqual(image.U8), $"8-bit colour type {colorType} samples differ (seed {seed})");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 2)]
    [InlineData(2, 3)]
    [InlineData(6, 4)]
    public void SixteenBitFormatsDecodeToFloatWithoutLoss(int colorType, int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var samples = RandomBytes(rng, W * H * channels * 2); // big-endian 16-bit, as stored in PNG
        var image = ImageFile.Decode(PngBytes.Build(W, H, 16, colorType, samples), "test16.png");
        Assert.Equal((W, H, channels, PixelKind.F32), (image.Width, image.Height, image.Channels, image.Kind));
        for (int i = 0; i < W * H * channels; i++)
        {
            int v = samples[2 * i] << 8 | samples[2 * i + 1];
            Assert.True(image.F32![i] == v / 257f, $"16-bit colour type {colorType} sample {i}: {image.F32[i]} vs {v}/257 (seed {seed})");
        }
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(8, true)]
    [InlineData(4, false)]
    public void PaletteExpandsToRgbOrRgba(int bitDepth, bool transparency)
    {
        var rng = Reference.NewRandom(out int seed);
        int entries = 1 << bitDepth;
        var palette = RandomBytes(rng, entries * 3);
        var alpha = transparency ? RandomBytes(rng, entries / 2) : null; // entries past the tRNS list are opaque
        var index = new int[W * H];
        for (int i = 0; i < index.Length; i++) index[i] = rng.Next(entries);
        int rowBytes = (W * bitDepth + 7) / 8;
        var packed = new byte[rowBytes * H];
        for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
        {
            int bit = x * bitDepth; // most significant bits first
            packed[y * rowBytes + bit / 8] |= (byte)(index[y * W + x] << (8 - bitDepth - bit % 8));
        }
        var image = ImageFile.Decode(PngBytes.Build(W, H, bitDepth, 3, packed, palette, alpha), "palette.png");
        int c = transparency ? 4 : 3;
        Assert.Equal(c, image.Channels);
        for (int p = 0; p < W * H; p++)
        {
            for (int k = 0; k < 3; k++)
                Assert.True(image.U8![p * c + k] == palette[index[p] * 3 + k], $"palette pixel {p} channel {k} (seed {seed})");
            if (transparency)
            {
                int a = index[p] < alpha!.Length ? alpha[index[p]] : 255;
                Assert.True(image.U8![p * c + 3] == a, $"palette alpha at pixel {p} (seed {seed})");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void SubByteGrayScalesToEightBits(int bitDepth)
    {
        var rng = Reference.NewRandom(out int seed);
        int levels = 1 << bitDepth, rowBytes = (W * bitDepth + 7) / 8;
        var value = new int[W * H];
        var packed = new byte[rowBytes * H];
        for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
        {
            value[y * W + x] = rng.Next(levels);
            int bit = x * bitDepth;
            packed[y * rowBytes + bit / 8] |= (byte)(value[y * W + x] << (8 - bitDepth - bit % 8));
        }
        var image = ImageFile.Decode(PngBytes.Build(W, H, bitDepth, 0, packed), "gray-sub.png");
        Assert.Equal(1, image.Channels);
        for (int p = 0; p < W * H; p++) // the PNG specification's scaling: v · 255 / (2^depth − 1), exact for these depths
            Assert.True(image.U8![p] == value[p] * 255 / (levels - 1), $"{bitDepth}-bit gray pixel {p}: {image.U8[p]} vs level {value[p]} (seed {seed})");
    }

    [Fact]
    public void GrayTransparencyKeyBecomesAlpha()
    {
        var rng = Reference.NewRandom(out int seed);
        var samples = RandomBytes(rng, W * H);
        byte key = samples[rng.Next(samples.Length)];
        var image = ImageFile.Decode(PngBytes.Build(W, H, 8, 0, samples, transparency: [0, key]), "key.png");
        Assert.Equal(2, image.Channels);
        for (int p = 0; p < W * H; p++)
        {
            Assert.Equal(samples[p], image.U8![2 * p]);
            Assert.True(image.U8[2 * p + 1] == (samples[p] == key ? 0 : 255), $"alpha at {p} (seed {seed})");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EncoderRoundTripsSamplesAndText(int channels)
    {
        var rng = Reference.NewRandom(out int seed);
        var image = Image.FromU8(RandomBytes(rng, W * H * channels), W, H, channels);
        var text = new Dictionary<string, string> { ["Software"] = "PFStorer.Native", ["pfstorer.degradation"] = "{\"seed\": 42, \"σ\": 1.5}" };
        var png = ImageFile.Encode(image, ImageSaveOptions.Png(text));
        var back = ImageFile.Decode(png, "roundtrip.png");
        Assert.True(image.U8.AsSpan().SequenceEqual(back.U8), $"{channels}-channel round trip differs (seed {seed})");
        Assert.Equal(text, ImageFile.ReadText(png, "roundtrip.png"));
    }

    [Fact]
    public void SixteenBitEncodeRoundTripsFloats()
    {
        var rng = Reference.NewRandom(out int seed);
        var f = new float[W * H * 3];
        for (int i = 0; i < f.Length; i++) f[i] = rng.Next(65536) / 257f;
        var back = ImageFile.Decode(ImageFile.Encode(Image.FromF32(f, W, H, 3), ImageSaveOptions.Png(sixteenBit: true)), "16.png");
        Assert.True(f.AsSpan().SequenceEqual(back.F32), $"16-bit round trip differs (seed {seed})");
    }
}
