using PFStorer.Images;
using Xunit;

namespace PFStorer.Restore.Tests;

public class RestoreHostTests
{
    [Fact]
    public void BatchWithOneCorruptFileRestoresTheOthersAndExitsNonZero()
    {
        using var host = new HostRunner();
        Directory.CreateDirectory(host.PathOf("in"));
        File.Copy(HostRunner.SampleImage, host.PathOf("in", "a.png"));
        var img = ImageFile.Read(HostRunner.SampleImage);
        File.WriteAllBytes(host.PathOf("in", "b.jpg"), ImageFile.Encode(img, ImageSaveOptions.Jpeg(90)));
        File.WriteAllBytes(host.PathOf("in", "c.png"), File.ReadAllBytes(HostRunner.SampleImage)[..200]);   // truncated PNG
        var before = Directory.GetFiles(host.PathOf("in")).ToDictionary(f => f, File.ReadAllBytes);

        var (code, stdout, stderr) = host.Restore(host.PathOf("in"), "-o", host.PathOf("out"));

        Assert.Equal(1, code);
        Assert.Contains("c.png", stderr);
        Assert.Contains("1 failed", stdout);
        Assert.Contains("2 restored", stdout);
        foreach (var name in new[] { "a.png", "b.png" })
        {
            var path = host.PathOf("out", name);
            Assert.True(File.Exists(path), $"{name} missing; stdout:\n{stdout}\nstderr:\n{stderr}");
            var restored = ImageFile.Read(path);
            Assert.Equal((img.Width * 4, img.Height * 4, 3), (restored.Width, restored.Height, restored.Channels));
            var text = ImageFile.ReadText(File.ReadAllBytes(path), path);
            Assert.Equal("2", text["pfstorer:steps"]);
            Assert.Equal("adain", text["pfstorer:color_fix"]);
        }
        Assert.False(File.Exists(host.PathOf("out", "c.png")));
        // Atomic writes leave no temporary siblings behind, and the inputs are untouched.
        Assert.Equal(["a.png", "b.png"], Directory.GetFiles(host.PathOf("out")).Select(f => Path.GetFileName(f)).Order().ToArray());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void ExistingOutputsAreSkippedUnlessOverwrite()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var output = host.PathOf("out", "lq.png");
        Directory.CreateDirectory(host.PathOf("out"));
        File.WriteAllBytes(output, [1, 2, 3]);   // an existing output the host must not touch without --overwrite

        var kept = host.Restore(host.PathOf("lq.png"), "-o", host.PathOf("out"));
        Assert.Equal(0, kept.ExitCode);
        Assert.Contains("skipped", kept.Stdout);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(output));

        var replaced = host.Restore(host.PathOf("lq.png"), "-o", host.PathOf("out"), "--overwrite");
        Assert.True(replaced.ExitCode == 0, replaced.Stdout + replaced.Stderr);
        var restored = ImageFile.Read(output);
        Assert.Equal((128, 128), (restored.Width, restored.Height));
        Assert.Equal(["lq.png"], Directory.GetFiles(host.PathOf("out")).Select(f => Path.GetFileName(f)).ToArray());
    }

    [Fact]
    public void OutputThatWouldReplaceAnInputIsRefused()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var bytes = File.ReadAllBytes(host.PathOf("lq.png"));
        var (code, _, stderr) = host.Restore(host.PathOf("lq.png"), "-o", host.Dir, "--overwrite");
        Assert.Equal(1, code);
        Assert.Contains("is an input (the same file)", stderr);
        Assert.Equal(bytes, File.ReadAllBytes(host.PathOf("lq.png")));
    }

    [Fact]
    public void MissingWeightsPointToTheWeightsReadme()
    {
        using var host = new HostRunner();
        File.Copy(HostRunner.SampleImage, host.PathOf("lq.png"));
        var (code, _, stderr) = host.Run("restore", host.PathOf("lq.png"), "--weights", host.PathOf("nope.ckpt"), "--vae", HostRunner.TinyVae);
        Assert.Equal(2, code);
        Assert.Contains("nope.ckpt", stderr);
        Assert.Contains("weights/README.md", stderr);
    }

    [Fact]
    public void MissingInputsAndBadOptionsExitNonZero()
    {
        using var host = new HostRunner();
        var missing = host.Run("restore", host.PathOf("absent.png"), "--weights", HostRunner.TinyModel, "--vae", HostRunner.TinyVae);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("absent.png", missing.Stderr);
        var badFix = host.Run("restore", HostRunner.SampleImage, "--color-fix", "sepia");
        Assert.NotEqual(0, badFix.ExitCode);
        var badCache = host.Run("restore", HostRunner.SampleImage, "--weights", HostRunner.TinyModel, "--vae", HostRunner.TinyVae, "--reference-cache-mib", "-1");
        Assert.Equal(2, badCache.ExitCode);
        Assert.Contains("reference cache budget must not be negative", badCache.Stderr);
    }

    [Fact]
    public void CudaRequestWithoutAGpuStopsWithTheReason()
    {
        if (PFStorer.Graph.Backends.CudaBackend.TryCreate(out _) != null) Assert.Skip("a CUDA device is present: this test covers machines without one");
        using var host = new HostRunner();
        var (code, _, stderr) = host.Run("restore", HostRunner.SampleImage, "-o", host.PathOf("out"),
            "--weights", HostRunner.TinyModel, "--vae", HostRunner.TinyVae, "--device", "cuda");
        Assert.Equal(2, code);
        Assert.Contains("--device cuda", stderr);
        Assert.False(Directory.Exists(host.PathOf("out")) && Directory.EnumerateFiles(host.PathOf("out")).Any());
    }
}
