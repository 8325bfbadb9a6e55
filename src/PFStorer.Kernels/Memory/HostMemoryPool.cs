using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Memory;

/// <summary>
/// Host memory pool with exact-size buckets. Inference and training repeat the same shapes every step, so exact-size
/// reuse reaches a steady state with zero new backing allocations after the first step. Blocks are 64-byte aligned for
/// SIMD loads (large ones sit on huge pages, <see cref="HugePages"/>).
/// The cache of returned blocks is bounded (<see cref="CacheLimitBytes"/>): a phase that allocates sizes no later phase
/// asks for (the VAE at full resolution, say) would otherwise keep them for good — 5 GB above the weights of a 512²
/// restoration (docs/architecture.md, "Host memory"). Beyond the limit the least recently returned blocks go back to
/// the OS; a loop's working set is what it returned last, so it stays cached.
/// </summary>
public sealed class HostMemoryPool : IMemoryPool
{
    public static HostMemoryPool Shared { get; } = new();

    /// <summary>The default bound on cached (free) bytes: 1 GiB.</summary>
    public const long DefaultCacheLimitBytes = 1L << 30;

    private const int Alignment = 64;
    // Cached blocks in return order (oldest first), and per size that size's nodes in the same order (Rent takes the last).
    private readonly LinkedList<MemoryBlock> _cached = new();
    private readonly Dictionary<long, List<LinkedListNode<MemoryBlock>>> _free = new();
    private readonly Lock _lock = new();
    private long _backing, _rents, _inUse, _peak, _reserved, _cacheLimit = DefaultCacheLimitBytes;

    /// <summary>Most bytes of returned blocks kept for reuse; lowering it releases the oldest at once.</summary>
    public long CacheLimitBytes
    {
        get { lock (_lock) return _cacheLimit; }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            List<MemoryBlock> released;
            lock (_lock)
            {
                _cacheLimit = value;
                released = EvictOverLimit();
            }
            Free(released);
        }
    }

    public unsafe MemoryBlock Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
        lock (_lock)
        {
            _rents++;
            _inUse += size;
            _peak = Math.Max(_peak, _inUse);
            if (_free.TryGetValue(size, out var nodes) && nodes.Count > 0)
            {
                var node = nodes[^1];
                nodes.RemoveAt(nodes.Count - 1);
                _cached.Remove(node);
                return node.Value;
            }
            _backing++;
            _reserved += size;
        }
        void* p = HugePages.Worth(size) ? HugePages.Alloc(size) : NativeMemory.AlignedAlloc((nuint)size, Alignment);
        if (p == null)
        {
            lock (_lock) { _inUse -= size; _reserved -= size; }
            throw new OutOfMemoryException($"host pool: could not allocate {size} bytes");
        }
        return new MemoryBlock((nint)p, size);
    }

    public void Return(MemoryBlock block)
    {
        List<MemoryBlock> released;
        lock (_lock)
        {
            _inUse -= block.Bytes;
            if (!_free.TryGetValue(block.Bytes, out var nodes)) _free[block.Bytes] = nodes = [];
            nodes.Add(_cached.AddLast(block));
            released = EvictOverLimit();
        }
        Free(released);
    }

    public PoolCounters Counters
    {
        get { lock (_lock) return new PoolCounters(_backing, _rents, _inUse, _peak, _reserved); }
    }

    public void Trim()
    {
        List<MemoryBlock> released;
        lock (_lock)
        {
            released = [.. _cached];
            _cached.Clear();
            _free.Clear();
            foreach (var b in released) _reserved -= b.Bytes;
        }
        Free(released);
    }

    /// <summary>Resets the peak to the current use, so a phase (e.g. one sampling step) can be measured alone.</summary>
    public void ResetPeak() { lock (_lock) _peak = _inUse; }

    // Unlinks the oldest cached blocks until the cache fits its limit (under the lock); the caller frees them outside it.
    private List<MemoryBlock> EvictOverLimit()
    {
        var released = new List<MemoryBlock>();
        long cached = _reserved - _inUse;
        while (cached > _cacheLimit && _cached.First is { } oldest)
        {
            // Blocks of one size are listed in return order, so the oldest overall is the first of its size.
            _free[oldest.Value.Bytes].RemoveAt(0);
            _cached.RemoveFirst();
            released.Add(oldest.Value);
            _reserved -= oldest.Value.Bytes;
            cached -= oldest.Value.Bytes;
        }
        return released;
    }

    private static unsafe void Free(List<MemoryBlock> blocks)
    {
        foreach (var b in blocks) NativeMemory.AlignedFree((void*)b.Pointer);
    }
}
