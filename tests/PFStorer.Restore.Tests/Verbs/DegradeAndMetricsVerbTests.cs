using System.Security.Cryptography;
using System.Text.Json;
using PFStorer.Images;
using PFStorer.Training.Degradations;
using PFStorer.Training.Metrics;
using Xunit;

namespace PFStorer.Restore.Tests.Verbs;

/// <summary>The `degrade` and `metrics` verbs driven through their command-line parsing, on files made in the test.</summary>
public class DegradeAndMetricsVerbTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pfstorer-verbs-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Sub(string name) => Directory.CreateDirectory(Path.Combine(_dir.FullName, name)).FullName;

    private static int Invoke(params string[] args) => InProcessVerbs.Invoke(args);

    /// <summary>Two inputs: the fixture photo as PNG and a JPEG with alpha-less gray content.</summary>
    private string MakeInputs()
    {
        string input = Sub("in");
        File.Copy(Fixtures.Path("image-ops", "astronaut_128.png"), Path.Combine(input, "astronaut.png"));
        var photo = ImageFile.Read(Path.Combine(input, "astronaut.png"));
        File.WriteAllBytes(Path.Combine(input, "second.jpg"), ImageFile.Encode(photo, ImageSaveOptions.Jpeg(90)));
        return input;
    }

    private static Dictionary<string, string> Hashes(string dir)
        => Directory.GetFiles(dir).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Theory]
    [InlineData("light")]
    [InlineData("heavy")]
    public void DegradeWritesReproducibleImagesAndSidecars(string level)
    {
        string input = MakeInputs();
        var before = Hashes(input);
        string outA = Path.Combine(_dir.FullName, "a"), outB = Path.Combine(_dir.FullName, "b");
        Assert.Equal(0, Invoke("degrade", input, "-o", outA, "--level", level, "--seed", "11"));
        Assert.Equal(0, Invoke("degrade", Path.Combine(input, "*.png"), Path.Combine(input, "second.jpg"), "-o", outB, "--level", level, "--seed", "11"));
        Assert.Equal(before, Hashes(input)); // inputs untouched

        foreach (var name in new[] { "astronaut", "second" })
        {
            // Same seed, same file name → bit-identical outputs, whichever way the file was named on the command line.
            Assert.Equal(File.ReadAllBytes(Path.Combine(outA, name + ".png")), File.ReadAllBytes(Path.Combine(outB, name + ".png")));
            // The sidecar alone regenerates the pixels.
            using var sidecar = JsonDocument.Parse(File.ReadAllText(Path.Combine(outA, name + ".json")));
            var parameters = sidecar.RootElement.GetProperty("parameters").Deserialize<DegradationParameters>(DegradationJson.Options)!;
            Assert.Equal(level, sidecar.RootElement.GetProperty("parameters").GetProperty("level").GetString());
            var source = ImageFile.Read(Directory.GetFiles(input, name + ".*").Single());
            var regenerated = Degradation.Apply(source, parameters).ToU8();
            var written = ImageFile.Read(Path.Combine(outA, name + ".png"));
            Assert.True(regenerated.U8.AsSpan().SequenceEqual(written.U8), $"{name}: sidecar does not regenerate the written pixels");
            // The PNG carries the same record in a tEXt chunk.
            var text = ImageFile.ReadText(File.ReadAllBytes(Path.Combine(outA, name + ".png")), name);
            Assert.Equal(sidecar.RootElement.GetRawText(), JsonDocument.Parse(text["pfstorer.degradation"]).RootElement.GetRawText());
        }
        Assert.Empty(Directory.GetFiles(outA, "*.tmp")); // atomic writes leave no temporaries
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(outA, "astronaut.png")), File.ReadAllBytes(Path.Combine(outA, "second.png")));
    }

    [Fact]
    public void DegradeRefusesToOverwriteItsInput()
    {
        string input = MakeInputs();
        var before = Hashes(input);
        Assert.NotEqual(0, Invoke("degrade", Path.Combine(input, "astronaut.png"), "-o", input, "--seed", "1"));
        Assert.Equal(before, Hashes(input));
        // Degrading a whole folder into itself: every output name is an input (or collides with one); nothing is touched.
        File.Copy(Path.Combine(input, "astronaut.png"), Path.Combine(input, "second.png"));
        before = Hashes(input);
        Assert.NotEqual(0, Invoke("degrade", input, "-o", input, "--seed", "1"));
        Assert.Equal(before, Hashes(input));
    }

    [Fact]
    public void DegradeReportsCorruptFilesAndMissingPaths()
    {
        string input = MakeInputs();
        File.WriteAllBytes(Path.Combine(input, "broken.png"), File.ReadAllBytes(Path.Combine(input, "astronaut.png"))[..500]);
        string output = Path.Combine(_dir.FullName, "out");
        Assert.Equal(1, Invoke("degrade", input, "-o", output));
        Assert.True(File.Exists(Path.Combine(output, "astronaut.png")), "good files are still degraded");
        Assert.False(File.Exists(Path.Combine(output, "broken.png")));
        Assert.Equal(2, Invoke("degrade", Path.Combine(input, "nope.png"), "-o", output));
    }

    [Fact]
    public void MetricsReportsPerImageAndMeanInJson()
    {
        string reference = MakeInputs();
        string restored = Sub("restored");
        var photo = ImageFile.Read(Path.Combine(reference, "astronaut.png"));
        var second = ImageFile.Read(Path.Combine(reference, "second.jpg"));
        var blurred = Filtering.GaussianBlur(photo, 5, 1.0).ToU8();
        File.WriteAllBytes(Path.Combine(restored, "astronaut.png"), ImageFile.Encode(blurred, ImageSaveOptions.Png()));
        File.WriteAllBytes(Path.Combine(restored, "second.png"), ImageFile.Encode(Noise.Jpeg(second, 40).ToU8(), ImageSaveOptions.Png()));
        string json = Path.Combine(_dir.FullName, "metrics.json");
        Assert.Equal(0, Invoke("metrics", "--restored", restored, "--reference", reference, "--json", json));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var rows = doc.RootElement.GetProperty("images").EnumerateArray().ToDictionary(r => r.GetProperty("image").GetString()!);
        Assert.Equal(["astronaut", "second"], rows.Keys.Order());
        double psnr = ImageMetrics.Psnr(blurred, photo), ssim = ImageMetrics.Ssim(blurred, photo);
        Assert.Equal(psnr, rows["astronaut"].GetProperty("psnr").GetDouble(), 12);
        Assert.Equal(ssim, rows["astronaut"].GetProperty("ssim").GetDouble(), 12);
        double meanPsnr = rows.Values.Average(r => r.GetProperty("psnr").GetDouble());
        Assert.Equal(meanPsnr, doc.RootElement.GetProperty("mean").GetProperty("psnr").GetDouble(), 12);
    }

    [Fact]
    public void MetricsFailsOnUnpairedOrMismatchedImages()
    {
        string reference = MakeInputs();
        string restored = Sub("restored");
        var small = Resize.ToSize(ImageFile.Read(Path.Combine(reference, "astronaut.png")), 64, 64, Interpolation.Area);
        File.WriteAllBytes(Path.Combine(restored, "astronaut.png"), ImageFile.Encode(small, ImageSaveOptions.Png()));
        File.WriteAllBytes(Path.Combine(restored, "unknown.png"), ImageFile.Encode(small, ImageSaveOptions.Png()));
        Assert.Equal(1, Invoke("metrics", "--restored", restored, "--reference", reference));
    }
}
