using PFStorer.Kernels.Memory;

namespace PFStorer.Graph;

/// <summary>
/// Reference-counted memory behind one or more tensor handles (views share it).
/// Pooled storage goes back to its pool when the last handle is disposed; external storage
/// (e.g. a memory-mapped checkpoint) runs its release action instead.
/// </summary>
public sealed class Storage
{
    private readonly IMemoryPool? _pool;
    private readonly Action? _release;
    private int _refs = 1;

    public nint Pointer { get; }
    public long Bytes { get; }
    public Device Device { get; }

    public Storage(IMemoryPool pool, long bytes, Device device)
    {
        _pool = pool;
        var block = pool.Rent(bytes);
        Pointer = block.Pointer;
        Bytes = block.Bytes;
        Device = device;
    }

    /// <summary>Wraps memory the pool does not own; <paramref name="release"/> runs when the last handle goes.</summary>
    public Storage(nint pointer, long bytes, Device device, Action? release)
    {
        Pointer = pointer;
        Bytes = bytes;
        Device = device;
        _release = release;
    }

    public bool IsAlive => Volatile.Read(ref _refs) > 0;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1) throw new ObjectDisposedException(nameof(Storage), "storage was already released");
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left > 0) return;
        if (left < 0) throw new ObjectDisposedException(nameof(Storage), "storage released twice");
        if (_pool != null) _pool.Return(new MemoryBlock(Pointer, Bytes));
        else _release?.Invoke();
    }
}
