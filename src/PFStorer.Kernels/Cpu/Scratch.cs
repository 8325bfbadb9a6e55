using PFStorer.Kernels.Memory;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// A float buffer rented from <see cref="HostMemoryPool.Shared"/> for the duration of one kernel call
/// (packed GEMM panels, im2col columns). Exact-size pooling makes repeated shapes allocation-free.
/// </summary>
internal readonly unsafe struct Scratch : IDisposable
{
    private readonly MemoryBlock _block;

    public float* Pointer => (float*)_block.Pointer;

    private Scratch(MemoryBlock block) => _block = block;

    public static Scratch Rent(long floats) => new(HostMemoryPool.Shared.Rent(Math.Max(1, floats) * sizeof(float)));

    public void Dispose() => HostMemoryPool.Shared.Return(_block);
}
