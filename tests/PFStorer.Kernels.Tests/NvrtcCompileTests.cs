using PFStorer.Graph.Backends;
using PFStorer.Kernels.Cuda;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// Every kernels/*.cu compiles with the NVRTC found on this machine, for the two architectures the engine targets
/// (A100-class compute_80 and Hopper compute_90 as PTX, and sm_90 CUBIN when this NVRTC can emit it), with an empty
/// log: a warning fails the test like an error does. Runs for real wherever libnvrtc is installed (CI: Debian's
/// libnvrtc11.2); skips with the probe's reason elsewhere (KernelFamilyTests checks the name lists against the files
/// without NVRTC).
/// </summary>
public sealed class NvrtcCompileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Families() => new(CudaBackend.KernelFamilies.Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Families))]
    public void Kernel_family_compiles_without_warnings(string family)
    {
        if (!Nvrtc.IsAvailable(out var reason)) Assert.Skip($"libnvrtc is not installed: {reason}");
        var kernels = CudaBackend.KernelFamilies.Single(f => f.Name == family);
        var compiler = new KernelCompiler(cacheDir: null);
        var targets = new List<(int Arch, bool Cubin)> { (80, false), (90, false) };
        if (Nvrtc.SupportedArchs().Contains(90)) targets.Add((90, true));
        foreach (var (arch, cubin) in targets)
        {
            var started = DateTime.UtcNow;
            var result = compiler.Compile(kernels, arch, cubin);
            output.WriteLine($"{family}.cu {(cubin ? "sm" : "compute")}_{arch}: {result.Image.Length} bytes, " +
                $"{result.LoweredNames.Count} kernels, {(DateTime.UtcNow - started).TotalSeconds:F1} s (NVRTC {Nvrtc.Version()})");
            Assert.True(result.Log.Length == 0, $"{family}.cu for {(cubin ? "sm" : "compute")}_{arch} compiled with messages:\n{result.Log}");
            Assert.Equal(kernels.NameExpressions.Count, result.LoweredNames.Count);
            Assert.All(result.LoweredNames.Values, sym => Assert.False(string.IsNullOrEmpty(sym)));
        }
    }
}
