using PFStorer.Kernels.Memory;

namespace PFStorer.Kernels.Cuda;

/// <summary>Where an arena gets its large blocks: the CUDA driver on a GPU, plain memory in tests.</summary>
public interface IDeviceMemorySource
{
    nint Allocate(long bytes);
    void Free(nint pointer);
}

/// <summary>
/// Device memory pool: a few large driver allocations (chunks) carved into 256-byte aligned sub-blocks by best fit,
/// with neighbouring free ranges merged on return. A sampling or training step rents and returns the same sizes
/// every iteration, so after the first one every rent is served from the chunks and
/// <see cref="PoolCounters.BackingAllocations"/> stops growing. Blocks are reused in stream order: the backend
/// launches everything on one stream, so a block returned on the host is only reused by later work on that stream.
/// </summary>
public sealed class DeviceArena : IMemoryPool, IDisposable
{
    public const long Alignment = 256;
    private readonly IDeviceMemorySource _source;
    private readonly long _chunkBytes;
    private readonly List<Chunk> _chunks = new();
    private readonly Dictionary<nint, (Chunk Chunk, long Bytes)> _live = new();
    private readonly Lock _lock = new();
    private long _backing, _rents, _inUse, _peak;

    private sealed class Chunk(nint basePointer, long bytes)
    {
        public nint Base { get; } = basePointer;
        public long Bytes { get; } = bytes;
        public SortedList<long, long> Free { get; } = new() { [0] = bytes };   // offset → length
        public int Live { get; set; }
    }

    /// <param name="chunkBytes">Size of each driver allocation; larger requests get a chunk of their own size.</param>
    public DeviceArena(IDeviceMemorySource source, long chunkBytes = 256L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, Alignment);
        _source = source;
        _chunkBytes = chunkBytes;
    }

    public MemoryBlock Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = Math.Max(Alignment, (bytes + Alignment - 1) / Alignment * Alignment);
        lock (_lock)
        {
            _rents++;
            var (chunk, offset) = BestFit(size);
            if (chunk == null)
            {
                long chunkSize = Math.Max(_chunkBytes, size);
                chunk = new Chunk(_source.Allocate(chunkSize), chunkSize);
                _chunks.Add(chunk);
                _backing++;
                offset = 0;
            }
            long free = chunk.Free[offset];
            chunk.Free.Remove(offset);
            if (free > size) chunk.Free[offset + size] = free - size;
            chunk.Live++;
            var pointer = chunk.Base + (nint)offset;
            _live[pointer] = (chunk, size);
            _inUse += size;
            _peak = Math.Max(_peak, _inUse);
            return new MemoryBlock(pointer, size);
        }
    }

    private (Chunk? Chunk, long Offset) BestFit(long size)
    {
        Chunk? best = null;
        long bestOffset = 0, bestLength = long.MaxValue;
        foreach (var c in _chunks)
        foreach (var (offset, length) in c.Free)
        {
            if (length >= size && length < bestLength) { best = c; bestOffset = offset; bestLength = length; }
        }
        return (best, bestOffset);
    }

    public void Return(MemoryBlock block)
    {
        lock (_lock)
        {
            if (!_live.Remove(block.Pointer, out var entry))
                throw new InvalidOperationException($"device arena: block 0x{block.Pointer:x} was not rented from this arena or was returned twice");
            var (chunk, size) = entry;
            _inUse -= size;
            chunk.Live--;
            long offset = block.Pointer - chunk.Base;
            var free = chunk.Free;
            // Merge with the following and the preceding free range.
            if (free.TryGetValue(offset + size, out long next)) { free.Remove(offset + size); size += next; }
            int i = ~BinarySearch(free.Keys, offset);
            if (i > 0)
            {
                long prevOffset = free.Keys[i - 1], prevLength = free.Values[i - 1];
                if (prevOffset + prevLength == offset) { offset = prevOffset; size += prevLength; }
            }
            free[offset] = size;
        }
    }

    private static int BinarySearch(IList<long> keys, long value)
    {
        int lo = 0, hi = keys.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] == value) return mid;
            if (keys[mid] < value) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    public PoolCounters Counters
    {
        get { lock (_lock) return new PoolCounters(_backing, _rents, _inUse, _peak, _chunks.Sum(c => c.Bytes)); }
    }

    /// <summary>Gives chunks with no live block back to the driver.</summary>
    public void Trim()
    {
        lock (_lock)
        {
            foreach (var c in _chunks.Where(c => c.Live == 0).ToList())
            {
                _source.Free(c.Base);
                _chunks.Remove(c);
            }
        }
    }

    public void ResetPeak() { lock (_lock) _peak = _inUse; }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var c in _chunks) _source.Free(c.Base);
            _chunks.Clear();
            _live.Clear();
        }
    }
}
