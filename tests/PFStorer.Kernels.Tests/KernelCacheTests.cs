using PFStorer.Graph.Backends;
using PFStorer.Kernels.Cuda;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>Kernel sources embedded as resources, cache key derivation and the cache file format.</summary>
public sealed class KernelCacheTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"pfstorer-kcache-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Every_op_family_is_embedded_with_its_header()
    {
        string[] expected = ["attention", "bias", "cast", "conv", "ddpm", "elementwise", "embedding", "groupnorm", "layernorm", "optim", "personalization", "shape", "window"];
        Assert.Subset(KernelSources.Families.ToHashSet(), expected.ToHashSet());
        foreach (var family in expected)
        {
            var source = KernelSources.Source(family);
            Assert.Contains("#include \"common.cuh\"", source);
            Assert.DoesNotContain("#include <", source);   // self-contained: no toolkit headers
        }
        Assert.DoesNotContain("#include <", KernelSources.Headers["common.cuh"]);
        var e = Assert.Throws<ArgumentException>(() => KernelSources.Source("nonexistent"));
        Assert.Contains("kernels/nonexistent.cu", e.Message);
    }

    private static readonly Dictionary<string, string> Headers = new() { ["common.cuh"] = "typedef long long i64;" };

    private static string Key(string source = "src", string header = "typedef long long i64;", string option = "--std=c++17",
        string name = "k<float>", int arch = 90, bool cubin = true, int nvrtcMinor = 8) =>
        KernelCompiler.CacheKey("fam", source, new Dictionary<string, string> { ["common.cuh"] = header }, [option], [name], arch, cubin, new Version(11, nvrtcMinor));

    [Fact]
    public void Cache_key_changes_with_everything_that_reaches_the_compiler()
    {
        var baseKey = Key();
        Assert.Equal(baseKey, Key());
        Assert.StartsWith("fam-sm_90-nvrtc11.8-", baseKey);
        Assert.StartsWith("fam-compute_90-", Key(cubin: false));
        string[] variants = [Key(source: "src2"), Key(header: "typedef long i64;"), Key(option: "--std=c++14"), Key(name: "k<bf16>"),
            Key(arch: 80), Key(cubin: false), Key(nvrtcMinor: 2)];
        Assert.Equal(variants.Length + 1, variants.Append(baseKey).Distinct().Count());
    }

    [Fact]
    public void Cache_key_is_not_fooled_by_moving_text_between_parts()
    {
        // Length-prefixed parts: "ab" + "c" must differ from "a" + "bc".
        var a = KernelCompiler.CacheKey("f", "ab", Headers, ["c"], [], 90, true, new Version(12, 0));
        var b = KernelCompiler.CacheKey("f", "a", Headers, ["bc"], [], 90, true, new Version(12, 0));
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Cache_file_round_trips_and_rejects_damage()
    {
        var path = Path.Combine(_dir, "entry.bin");
        var image = new byte[1000];
        new Random(1).NextBytes(image);
        var lowered = new Dictionary<string, string> { ["k<float>"] = "_Z1kIfEvv", ["k<bf16>"] = "_Z1kI4bf16Evv" };
        KernelCacheFile.Write(path, image, lowered);

        var read = KernelCacheFile.TryRead(path, ["k<float>", "k<bf16>"]);
        Assert.NotNull(read);
        Assert.Equal(image, read.Value.Image);
        Assert.Equal(lowered, read.Value.Lowered);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));

        Assert.Null(KernelCacheFile.TryRead(path, ["k<float>", "k<half>"]));   // an entry missing a kernel is recompiled
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Null(KernelCacheFile.TryRead(path, ["k<float>"]));
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Null(KernelCacheFile.TryRead(path, ["k<float>"]));
        Assert.Null(KernelCacheFile.TryRead(Path.Combine(_dir, "absent.bin"), []));
    }

    [Fact]
    public void Second_compile_is_served_from_the_cache()
    {
        if (!Nvrtc.IsAvailable(out var reason)) Assert.Skip($"libnvrtc is not installed: {reason}");
        var compiler = new KernelCompiler(_dir);
        var optim = CudaBackend.KernelFamilies.Single(f => f.Name == "optim");
        var first = compiler.Compile(optim, 80, cubin: false);
        var files = Directory.GetFiles(_dir, "optim-compute_80-*.bin");
        Assert.Single(files);
        var stamp = File.GetLastWriteTimeUtc(files[0]);
        var second = compiler.Compile(optim, 80, cubin: false);
        Assert.Equal(first.Image, second.Image);
        Assert.Equal(first.LoweredNames, second.LoweredNames);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(files[0]));
    }
}
