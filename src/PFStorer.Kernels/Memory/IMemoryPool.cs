namespace PFStorer.Kernels.Memory;

/// <summary>A block of raw memory owned by a pool: host memory for the CPU pool, a device pointer for the CUDA arena.</summary>
public readonly record struct MemoryBlock(nint Pointer, long Bytes);

/// <summary>
/// Counters every pool keeps so that tests and benchmarks can prove allocation behaviour,
/// e.g. "the sampling loop performs no new backing allocation after its first step".
/// </summary>
public readonly record struct PoolCounters(
    long BackingAllocations, // calls into the OS / driver allocator
    long Rents,              // requests served (from cache or new)
    long BytesInUse,
    long PeakBytesInUse,
    long BytesReserved);     // in use + cached for reuse

public interface IMemoryPool
{
    MemoryBlock Rent(long bytes);
    void Return(MemoryBlock block);
    PoolCounters Counters { get; }
    /// <summary>Releases cached (unused) blocks back to the OS / driver.</summary>
    void Trim();
}
