using PFStorer.Kernels.Memory;

namespace PFStorer.Graph.Backends;

/// <summary>
/// The op interface. Two implementations: <see cref="CpuBackend"/> (the reference) and the CUDA backend.
/// Conventions for every method:
/// - outputs are preallocated by the caller (so allocation policy lives in one place, <see cref="F"/>), contiguous, f32 unless stated;
/// - inputs are contiguous unless a method says it accepts views;
/// - a null gradient output means "not needed": the backend must skip that work (frozen weights get no weight-gradient GEMM);
/// - backward methods overwrite their gradient outputs (they never accumulate) unless stated.
/// The interface is partial: one file per op family, beside the matching CPU partial class.
/// </summary>
public partial interface IBackend
{
    Device Device { get; }
    IMemoryPool Pool { get; }

    /// <summary>Copies raw bytes from host memory into a contiguous tensor of this device.</summary>
    void CopyFromHost(ReadOnlySpan<byte> source, Tensor destination);
    /// <summary>Copies a contiguous tensor of this device into host memory.</summary>
    void CopyToHost(Tensor source, Span<byte> destination);
    /// <summary>Strided copy with dtype conversion: <paramref name="source"/> may be any view on this device; <paramref name="destination"/> is contiguous with the same shape.</summary>
    void Copy(Tensor source, Tensor destination);
    void Fill(Tensor destination, double value);
}
