using System.Runtime.InteropServices;
using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

/// <summary>
/// An n-dimensional view onto reference-counted <see cref="Storage"/>. Each handle must be disposed once;
/// views (reshape, slice, permute) are new handles on the same storage. Shapes are row-major (NCHW for images).
/// Methods here are plain views with no gradient recording; the autograd-aware operations live in <see cref="F"/>.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly int[] _shape;
    private readonly long[] _strides;
    private bool _disposed;

    public Storage Storage { get; }
    public DType DType { get; }
    public long Offset { get; }   // in elements
    public ReadOnlySpan<int> Shape => _shape;
    public ReadOnlySpan<long> Strides => _strides;
    public int Rank => _shape.Length;
    public long Numel { get; }
    public Device Device => Storage.Device;
    public IBackend Backend => Backends.Backend.For(Device);
    public string? Name { get; set; }

    // ---- autograd state ----
    /// <summary>True for trainable leaves and for results of recorded operations.</summary>
    public bool RequiresGrad { get; set; }
    /// <summary>Accumulated gradient; only ever created for leaves that require grad (trainable parameters).</summary>
    public Tensor? Grad { get; set; }
    public Node? GradFn { get; internal set; }
    public int OutputIndex { get; internal set; }
    public bool IsLeaf => GradFn == null;

    internal Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset)
    {
        Storage = storage;
        DType = dtype;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(',', shape)}]");
            n *= d;
        }
        Numel = n;
    }

    public int Dim(int d) => _shape[d < 0 ? d + _shape.Length : d];
    public int[] ShapeArray() => (int[])_shape.Clone();
    public string ShapeString => "[" + string.Join(",", _shape) + "]";
    public long ByteOffset => Offset * DType.Size();
    /// <summary>
    /// Where the elements start. Every backend op reaches memory through this, so a disposed handle is refused here: its
    /// storage may already serve another tensor, and reading it would silently depend on who reused the block.
    /// </summary>
    public nint DataPointer
    {
        get
        {
            ThrowIfDisposed();
            return Storage.Pointer + (nint)ByteOffset;
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(ToString(), "this tensor handle was disposed; its memory may already belong to another tensor");
    }

    // A new view needs a live handle too: sharing a disposed one would revive memory that its owner gave up.
    private void AddViewReference()
    {
        ThrowIfDisposed();
        Storage.AddRef();
    }

    public bool IsContiguous => IsRowMajor(_shape, _strides);

    /// <summary>True when the strides (in elements) describe a dense row-major layout of the shape; size-1 dims may have any stride.</summary>
    public static bool IsRowMajor(ReadOnlySpan<int> shape, ReadOnlySpan<long> strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    // ---- creation ----
    public static long[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>Uninitialised contiguous tensor from the device's pool.</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype = DType.F32, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        var backend = Backends.Backend.For(dev);
        long n = 1;
        foreach (int d in shape) n *= d;
        var storage = new Storage(backend.Pool, Math.Max(1, n) * dtype.Size(), dev);
        return new Tensor(storage, dtype, shape.ToArray(), ContiguousStrides(shape), 0);
    }

    public static Tensor Zeros(ReadOnlySpan<int> shape, DType dtype = DType.F32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Backend.Fill(t, 0);
        return t;
    }

    public static Tensor Full(ReadOnlySpan<int> shape, float value, Device? device = null)
    {
        var t = Empty(shape, DType.F32, device);
        t.Backend.Fill(t, value);
        return t;
    }

    public static Tensor FromArray(float[] data, params int[] shape) => FromSpan<float>(data, DType.F32, shape, null);
    public static Tensor FromArray(int[] data, params int[] shape) => FromSpan<int>(data, DType.I32, shape, null);
    public static Tensor FromArray(long[] data, params int[] shape) => FromSpan<long>(data, DType.I64, shape, null);

    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, DType dtype, ReadOnlySpan<int> shape, Device? device) where T : unmanaged
    {
        var t = Empty(shape, dtype, device);
        var bytes = MemoryMarshal.AsBytes(data);
        if (bytes.Length != t.Numel * dtype.Size())
            throw new ArgumentException($"data has {bytes.Length} bytes, shape {t.ShapeString} of {dtype} needs {t.Numel * dtype.Size()}");
        t.Backend.CopyFromHost(bytes, t);
        return t;
    }

    // ---- host access ----
    /// <summary>Direct span over a contiguous CPU tensor's elements.</summary>
    public unsafe Span<T> Span<T>() where T : unmanaged
    {
        if (Device.Kind != DeviceKind.Cpu) throw new InvalidOperationException($"tensor {Name ?? ShapeString} is on {Device}; copy it to the CPU first");
        if (!IsContiguous) throw new InvalidOperationException($"tensor {Name ?? ShapeString} is not contiguous");
        if (sizeof(T) != DType.Size()) throw new InvalidOperationException($"span of {typeof(T).Name} over a {DType} tensor");
        return new Span<T>((void*)DataPointer, checked((int)Numel));
    }

    /// <summary>Copies the elements (any device, any layout, any float dtype) into a new float array.</summary>
    public float[] ToFloatArray()
    {
        using var c = Contiguous(DType.F32, Device.Cpu);
        return c.Span<float>().ToArray();
    }

    public long[] ToInt64Array()
    {
        using var c = Contiguous(DType.I64, Device.Cpu);
        return c.Span<long>().ToArray();
    }

    // ---- views ----
    /// <summary>
    /// A new handle on the same view (the storage lives until every handle is disposed). It is a raw handle: it carries
    /// no autograd link (GradFn, RequiresGrad), so use it for saved activations and buffers, not to pass a recorded tensor on.
    /// </summary>
    public Tensor Share()
    {
        AddViewReference();
        return new Tensor(Storage, DType, _shape, _strides, Offset);
    }

    public int[] ResolveShape(ReadOnlySpan<int> shape)
    {
        var r = shape.ToArray();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < r.Length; i++)
        {
            if (r[i] == -1) { if (infer >= 0) throw new ArgumentException("only one -1 allowed in a shape"); infer = i; }
            else known *= r[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0) throw new ArgumentException($"cannot reshape {ShapeString} to [{string.Join(',', r)}]");
            r[infer] = (int)(Numel / known);
        }
        long n = 1;
        foreach (int d in r) n *= d;
        if (n != Numel) throw new ArgumentException($"cannot reshape {ShapeString} ({Numel} elements) to [{string.Join(',', r)}]");
        return r;
    }

    /// <summary>View with a new shape; the tensor must be contiguous (call <see cref="Contiguous()"/> first otherwise).</summary>
    public Tensor View(params int[] shape)
    {
        if (!IsContiguous) throw new InvalidOperationException($"View of non-contiguous tensor {ShapeString}; use Contiguous() first");
        var r = ResolveShape(shape);
        AddViewReference();
        return new Tensor(Storage, DType, r, ContiguousStrides(r), Offset);
    }

    /// <summary>View of <paramref name="length"/> indices starting at <paramref name="start"/> along <paramref name="dim"/>.</summary>
    public Tensor Slice(int dim, int start, int length)
    {
        if (dim < 0) dim += Rank;
        if (start < 0 || length < 0 || start + length > _shape[dim])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start},{start + length}) of dim {dim} in {ShapeString}");
        var shape = ShapeArray();
        shape[dim] = length;
        AddViewReference();
        return new Tensor(Storage, DType, shape, (long[])_strides.Clone(), Offset + start * _strides[dim]);
    }

    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank) throw new ArgumentException($"permute needs {Rank} dims");
        var shape = new int[Rank];
        var strides = new long[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = dims[i] < 0 ? dims[i] + Rank : dims[i];
            if (seen[d]) throw new ArgumentException("permute dims repeat");
            seen[d] = true;
            shape[i] = _shape[d];
            strides[i] = _strides[d];
        }
        AddViewReference();
        return new Tensor(Storage, DType, shape, strides, Offset);
    }

    /// <summary>Contiguous copy (or a shared handle when already contiguous, same dtype and device).</summary>
    public Tensor Contiguous() => Contiguous(DType, Device);

    public Tensor Contiguous(DType dtype, Device device)
    {
        if (IsContiguous && dtype == DType && device == Device) return Share();
        if (device == Device)
        {
            var dst = Empty(_shape, dtype, device);
            Backend.Copy(this, dst);
            return dst;
        }
        // Cross-device: make it contiguous on the source side in the target dtype, then move bytes.
        using var src = Contiguous(dtype, Device);
        var moved = Empty(_shape, dtype, device);
        if (Device.Kind == DeviceKind.Cpu)
            moved.Backend.CopyFromHost(src.HostBytes(), moved);
        else
            src.Backend.CopyToHost(src, moved.HostBytes());
        return moved;
    }

    public Tensor To(Device device) => Contiguous(DType, device);

    /// <summary>A contiguous copy that never shares storage (unlike <see cref="Contiguous()"/>), e.g. to seed a trainable value from a frozen one.</summary>
    public Tensor Clone()
    {
        var dst = Empty(_shape, DType, Device);
        Backend.Copy(this, dst);
        return dst;
    }

    private unsafe Span<byte> HostBytes()
    {
        if (Device.Kind != DeviceKind.Cpu || !IsContiguous) throw new InvalidOperationException("host bytes need a contiguous CPU tensor");
        return new Span<byte>((void*)DataPointer, checked((int)(Numel * DType.Size())));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Storage.Release();
    }

    public override string ToString() => $"Tensor{ShapeString} {DType} {Device}{(Name != null ? " " + Name : "")}";
}
