using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// Random-access bytes of a checkpoint. Readers pull only the ranges they need (headers, then one tensor at a time),
/// so a 5 GB file costs nothing until a tensor is asked for. A memory-mapped file can also hand out zero-copy storage.
/// </summary>
public abstract class ByteSource : IDisposable
{
    /// <summary>The file path (or a label) used in every error message.</summary>
    public abstract string Name { get; }
    public abstract long Length { get; }

    /// <summary>Reads exactly <c>destination.Length</c> bytes at <paramref name="offset"/>.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Length || destination.Length > Length - offset)
            throw new CheckpointFormatException(Name, $"read of {destination.Length} bytes at offset {offset} is past the end of the file ({Length} bytes)");
        ReadCore(offset, destination);
    }

    public byte[] ReadArray(long offset, int count)
    {
        var a = new byte[count];
        Read(offset, a);
        return a;
    }

    protected abstract void ReadCore(long offset, Span<byte> destination);

    /// <summary>Zero-copy storage over [offset, offset + bytes) that keeps the source alive, or null when not mapped.</summary>
    public virtual Storage? MapStorage(long offset, long bytes) => null;

    /// <summary>Whether <see cref="MapStorage"/> hands out zero-copy storage.</summary>
    public virtual bool IsMapped => false;

    public abstract void Dispose();

    /// <summary>
    /// Opens <paramref name="path"/> for positional reads and maps it copy-on-write (the file is never written: a
    /// write through a mapped tensor stays private to this process).
    /// </summary>
    public static ByteSource OpenFile(string path) => new MappedFileSource(path);

    public static ByteSource FromMemory(byte[] bytes, string name) => new MemorySource(bytes, name);
}

internal sealed class MemorySource(byte[] bytes, string name) : ByteSource
{
    public override string Name => name;
    public override long Length => bytes.Length;
    protected override void ReadCore(long offset, Span<byte> destination) => bytes.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);
    public override void Dispose() { }
}

/// <summary>
/// A whole file, read two ways. Copies (<see cref="ByteSource.Read"/>) use positional reads, which are thread-safe and
/// leave no file pages in the process's resident set; zero-copy storages point into a private (copy-on-write)
/// mapping, so a parameter that is ever written cannot change the file or another process's view of it.
/// Reference-counted: the reader holds one reference and every zero-copy storage holds another, so tensors handed out
/// stay valid after the reader is disposed.
/// </summary>
internal sealed unsafe class MappedFileSource : ByteSource
{
    private readonly SafeFileHandle _handle;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private int _refs = 1;
    private bool _disposed;

    public override string Name { get; }
    public override long Length { get; }

    public MappedFileSource(string path)
    {
        Name = path;
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Length = RandomAccess.GetLength(_handle);
        if (Length == 0) return; // an empty file cannot be mapped; every read fails with a clear range error
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    protected override void ReadCore(long offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(_handle, destination, offset);
            if (n <= 0) throw new CheckpointFormatException(Name, $"the file ended at offset {offset} while reading (was it truncated while open?)");
            destination = destination[n..];
            offset += n;
        }
    }

    public override bool IsMapped => _base != null;

    public override Storage? MapStorage(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset > Length - bytes)
            throw new CheckpointFormatException(Name, $"mapping of {bytes} bytes at offset {offset} is past the end of the file ({Length} bytes)");
        if (Interlocked.Increment(ref _refs) <= 1) throw new ObjectDisposedException(Name);
        return new Storage((nint)(_base + offset), bytes, Device.Cpu, Release);
    }

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _refs) != 0) return;
        if (_view != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _file?.Dispose();
        _handle.Dispose();
    }
}
