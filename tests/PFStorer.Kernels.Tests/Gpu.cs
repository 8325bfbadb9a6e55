using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>The CUDA backend for GPU tests, or a skip with the reason no GPU could be opened.</summary>
internal static class Gpu
{
    private static readonly Lazy<(CudaBackend? Backend, string Reason)> Opened = new(() =>
    {
        var backend = CudaBackend.TryCreate(out var reason);
        return (backend, reason);
    });

    /// <summary>The backend, or null with the reason (opening registers it with <see cref="Backend"/>).</summary>
    public static CudaBackend? TryOpen(out string reason)
    {
        (var backend, reason) = Opened.Value;
        return backend;
    }

    public static CudaBackend Require()
    {
        var backend = TryOpen(out var reason);
        if (backend == null) Assert.Skip($"no CUDA device: {reason}");
        return backend!;
    }
}
