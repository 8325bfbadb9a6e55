using PFStorer.Kernels.Cuda;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>The resolver's probing order, on a fake directory tree (no library is loaded).</summary>
public sealed class LibraryResolverTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pfstorer-probe-{Guid.NewGuid():N}");

    private string Touch(string relative)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Probes_cuda_path_then_toolkits_newest_first_then_ld_library_path_then_python_wheels()
    {
        var cudaPath = Touch("opt/cuda/lib64/libnvrtc.so.12");
        var toolkit13 = Touch("usr/local/cuda-13.0/lib64/libnvrtc.so.13");
        var toolkit12 = Touch("usr/local/cuda-12.4/lib64/libnvrtc.so.12");
        var toolkit9 = Touch("usr/local/cuda-9.2/lib64/libnvrtc.so");   // numeric order: 9.2 is the oldest
        var ld = Touch("ld/libnvrtc.so.11.2");
        var wheel = Touch("site/nvidia/cu13/lib/libnvrtc.so.13");
        var wheelOld = Touch("site/nvidia/cuda_nvrtc/lib/libnvrtc.so.12");
        Touch("site/nvidia/cublas/lib/libcublas.so.12");
        var env = new ProbeEnvironment(Path.Combine(_root, "opt/cuda"), $"{Path.Combine(_root, "ld")}:", [Path.Combine(_root, "site")], _root);

        var candidates = CudaLibraries.Candidates(CudaLibrary.Nvrtc, env);

        Assert.Equal([cudaPath, toolkit13, toolkit12, toolkit9, ld, wheel, wheelOld,
            "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], candidates);
    }

    [Fact]
    public void Newest_major_version_wins_within_a_directory()
    {
        var v11 = Touch("usr/local/cuda/lib64/libcublas.so.11");
        var v13 = Touch("usr/local/cuda/lib64/libcublas.so.13");
        var v12 = Touch("usr/local/cuda/lib64/libcublas.so.12");
        var env = new ProbeEnvironment(null, null, [], _root);

        var found = CudaLibraries.Candidates(CudaLibrary.Cublas, env).Where(Path.IsPathRooted).ToArray();

        Assert.Equal([v13, v12, v11], found);
    }

    [Fact]
    public void Driver_is_only_taken_from_the_system_loader()
    {
        // Toolkits ship a stub libcuda.so that loads but fails every call; it must never be picked up.
        Touch("usr/local/cuda/lib64/stubs/libcuda.so");
        Touch("usr/local/cuda/lib64/libcuda.so.1");
        var env = new ProbeEnvironment(Path.Combine(_root, "usr/local/cuda"), Path.Combine(_root, "usr/local/cuda/lib64"), [], _root);

        Assert.Equal(["libcuda.so.1"], CudaLibraries.Candidates(CudaLibrary.Driver, env));
    }

    [Fact]
    public void Missing_directories_are_skipped()
    {
        var env = new ProbeEnvironment(Path.Combine(_root, "nope"), Path.Combine(_root, "missing"), [Path.Combine(_root, "no-site")], _root);
        Assert.Equal(CudaLibraries.FileNames(CudaLibrary.Nvrtc), CudaLibraries.Candidates(CudaLibrary.Nvrtc, env));
    }
}
