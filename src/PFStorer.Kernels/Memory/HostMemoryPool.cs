using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Memory;

/// <summary>
/// Host memory pool with exact-size buckets. Inference and training repeat the same shapes every step,
/// so exact-size reuse reaches a steady state with zero new backing allocations after the first step.
/// Blocks are 64-byte aligned for SIMD loads.
/// </summary>
public sealed class HostMemoryPool : IMemoryPool
{
    public static HostMemoryPool Shared { get; } = new();

    private const int Alignment = 64;
    private readonly Dictionary<long, Stack<nint>> _free = new();
    private readonly Lock _lock = new();
    private long _backing, _rents, _inUse, _peak, _reserved;

    public unsafe MemoryBlock Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
        lock (_lock)
        {
            _rents++;
            _inUse += size;
            _peak = Math.Max(_peak, _inUse);
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
                return new MemoryBlock(stack.Pop(), size);
            _backing++;
            _reserved += size;
        }
        void* p = HugePages.Worth(size) ? HugePages.Alloc(size) : NativeMemory.AlignedAlloc((nuint)size, Alignment);
        if (p == null) throw new OutOfMemoryException($"host pool: could not allocate {size} bytes");
        return new MemoryBlock((nint)p, size);
    }

    public void Return(MemoryBlock block)
    {
        lock (_lock)
        {
            _inUse -= block.Bytes;
            if (!_free.TryGetValue(block.Bytes, out var stack)) _free[block.Bytes] = stack = new Stack<nint>();
            stack.Push(block.Pointer);
        }
    }

    public PoolCounters Counters
    {
        get { lock (_lock) return new PoolCounters(_backing, _rents, _inUse, _peak, _reserved); }
    }

    public unsafe void Trim()
    {
        lock (_lock)
        {
            foreach (var (size, stack) in _free)
                while (stack.Count > 0) { NativeMemory.AlignedFree((void*)stack.Pop()); _reserved -= size; }
            _free.Clear();
        }
    }

    /// <summary>Resets the peak to the current use, so a phase (e.g. one sampling step) can be measured alone.</summary>
    public void ResetPeak() { lock (_lock) _peak = _inUse; }
}
