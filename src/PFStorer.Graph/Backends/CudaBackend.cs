using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;
using PFStorer.Kernels.Memory;

namespace PFStorer.Graph.Backends;

/// <summary>
/// The GPU backend: every <see cref="IBackend"/> op as NVRTC-compiled kernels (kernels/*.cu) and cuBLAS GEMMs, all on
/// one stream of one device, memory from the device arena. Float ops run in two storage modes chosen by the tensors'
/// dtype: F32 (exact f32 arithmetic, the parity mode) and BF16 (bf16 storage, f32 arithmetic and accumulation).
/// Statistics (GroupNorm/LayerNorm mean and rstd, attention lse), key masks and AdamW moments are always f32.
/// Partial: one file per op family, like <see cref="CpuBackend"/>.
/// </summary>
public sealed partial class CudaBackend : IBackend
{
    private static readonly Dictionary<int, CudaBackend> Opened = new();
    private static readonly Lock Gate = new();
    private readonly CudaDevice _gpu;

    private CudaBackend(CudaDevice gpu)
    {
        _gpu = gpu;
        Device = Device.Cuda(gpu.Ordinal);
    }

    /// <summary>
    /// Opens GPU <paramref name="ordinal"/> and registers the backend with <see cref="Backend"/> (once per device), or
    /// returns null with the reason: no driver, no device, NVRTC or cuBLAS missing, or a GPU older than sm_80.
    /// </summary>
    public static CudaBackend? TryCreate(out string reason, int ordinal = 0)
    {
        lock (Gate)
        {
            if (Opened.TryGetValue(ordinal, out var open)) { reason = ""; return open; }
            if (!CudaDevice.TryCreate(ordinal, out var gpu, out reason)) return null;
            var backend = new CudaBackend(gpu!);
            Opened[ordinal] = backend;
            Backend.Register(backend);
            return backend;
        }
    }

    public Device Device { get; }
    public IMemoryPool Pool => _gpu.Arena;
    /// <summary>The device under this backend (stream, arena, timing and graph capture) for tests and benchmarks.</summary>
    public CudaDevice Gpu => _gpu;

    public void Synchronize() => _gpu.Synchronize();

    // ---- helpers shared by the op families ----

    private nint Ptr(Tensor t)
    {
        if (t.Device != Device) throw new ArgumentException($"{t} is not on {Device}");
        if (!t.IsContiguous) throw new ArgumentException($"CUDA op expects a contiguous tensor, got {t} with strides [{string.Join(',', t.Strides.ToArray())}]");
        return t.DataPointer;
    }

    private nint Opt(Tensor? t) => t == null ? 0 : Ptr(t);

    /// <summary>The kernels' storage type name for a set of float tensors, which must agree (F32 or BF16).</summary>
    private static string FloatType(string op, params Tensor?[] tensors)
    {
        DType? dtype = null;
        foreach (var t in tensors)
        {
            if (t == null) continue;
            if (t.DType is not (DType.F32 or DType.BF16)) throw new ArgumentException($"CUDA {op}: {t} must be F32 or BF16");
            if (dtype != null && dtype != t.DType) throw new ArgumentException($"CUDA {op}: mixed dtypes {dtype} and {t.DType}");
            dtype = t.DType;
        }
        return KernelFamily.TypeName(dtype ?? DType.F32);
    }

    private static void RequireF32(string op, string what, Tensor? t)
    {
        if (t != null && t.DType != DType.F32) throw new ArgumentException($"CUDA {op}: {what} must be F32, got {t}");
    }

    private static void SameShape(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.SequenceEqual(b.Shape)) throw new ArgumentException($"CUDA {op}: shapes {a.ShapeString} and {b.ShapeString} differ");
    }

    /// <summary>
    /// Every kernel family the launchers use, each declared beside its launcher (CudaBackend.&lt;Family&gt;.cs): what the
    /// compile test builds and checks against kernels/*.cu.
    /// </summary>
    public static IReadOnlyList<KernelFamily> KernelFamilies =>
    [
        CastKernels, ElementwiseKernels, GroupNormKernels, LayerNormKernels, BiasKernels, ConvKernels, WindowKernels, AttentionKernels,
        EmbeddingKernels, ShapeKernels, OptimKernels, RandomKernels, DdpmKernels, PersonalizationKernels,
    ];

    private CudaFunction Fn(KernelFamily family, string expression) => _gpu.Function(family, expression);

    /// <summary>Grid-stride launch of an elementwise kernel over n items.</summary>
    private void Elementwise(CudaFunction f, long n, params ReadOnlySpan<KernelArg> args)
    {
        if (n == 0) return;
        _gpu.Launch(f, _gpu.GridFor(n), 256, 0, args);
    }

    // ---- copies and fills ----

    private static readonly KernelFamily CastKernels = new("cast",
        [.. CastPairs().SelectMany(p => new[] { $"cast<{p.From}, {p.To}>", $"copy_strided<{p.From}, {p.To}>" }), "fill_u64"]);

    /// <summary>Conversions the cast kernels provide: among the float types, between the integer types, and each type to itself.</summary>
    private static IEnumerable<(string From, string To)> CastPairs()
    {
        string[] floats = ["float", "bf16", "f16"];
        foreach (var a in floats)
        foreach (var b in floats)
            yield return (a, b);
        yield return ("int", "int");
        yield return ("i64", "i64");
        yield return ("int", "i64");
        yield return ("i64", "int");
    }

    public unsafe void CopyFromHost(ReadOnlySpan<byte> source, Tensor destination)
    {
        long bytes = destination.Numel * destination.DType.Size();
        if (source.Length != bytes) throw new ArgumentException($"copy to {destination}: {source.Length} bytes given, {bytes} needed");
        if (bytes == 0) return;
        _gpu.MakeCurrent();
        // From pageable memory the driver stages the bytes before returning, so the span may be reused at once.
        fixed (byte* p = source) Driver.Check(Driver.cuMemcpyHtoDAsync(Ptr(destination), p, (nuint)bytes, _gpu.Stream), "cuMemcpyHtoDAsync");
    }

    public unsafe void CopyToHost(Tensor source, Span<byte> destination)
    {
        long bytes = source.Numel * source.DType.Size();
        if (destination.Length != bytes) throw new ArgumentException($"copy from {source}: {destination.Length} bytes given, {bytes} needed");
        if (bytes == 0) return;
        _gpu.MakeCurrent();
        fixed (byte* p = destination) Driver.Check(Driver.cuMemcpyDtoHAsync(p, Ptr(source), (nuint)bytes, _gpu.Stream), "cuMemcpyDtoHAsync");
        _gpu.Synchronize();
    }

    public unsafe void Copy(Tensor source, Tensor destination)
    {
        SameShape("copy", source, destination);
        if (source.Device != Device) throw new ArgumentException($"copy: {source} is not on {Device}");
        long n = destination.Numel;
        if (n == 0) return;
        if (source.IsContiguous && source.DType == destination.DType)
        {
            _gpu.MakeCurrent();
            Driver.Check(Driver.cuMemcpyDtoDAsync(Ptr(destination), source.DataPointer, (nuint)(n * source.DType.Size()), _gpu.Stream), "cuMemcpyDtoDAsync");
            return;
        }
        var from = KernelFamily.TypeName(source.DType);
        var to = KernelFamily.TypeName(destination.DType);
        if (!CastPairs().Contains((from, to)))
            throw new NotSupportedException($"CUDA copy from {source.DType} to {destination.DType} is not supported");
        if (source.IsContiguous)
        {
            Elementwise(Fn(CastKernels, $"cast<{from}, {to}>"), n, source.DataPointer, Ptr(destination), n);
            return;
        }
        var layout = StridedLayout.Create(source.Shape, source.Strides);
        Elementwise(Fn(CastKernels, $"copy_strided<{from}, {to}>"), n, source.DataPointer, Ptr(destination), n, KernelArg.ByValue(&layout));
    }

    public void Fill(Tensor destination, double value)
    {
        long n = destination.Numel;
        if (n == 0) return;
        _gpu.MakeCurrent();
        var p = Ptr(destination);
        var s = _gpu.Stream;
        switch (destination.DType)
        {
            case DType.F32: Driver.Check(Driver.cuMemsetD32Async(p, BitConverter.SingleToUInt32Bits((float)value), (nuint)n, s), "cuMemsetD32Async"); break;
            case DType.I32: Driver.Check(Driver.cuMemsetD32Async(p, unchecked((uint)(int)value), (nuint)n, s), "cuMemsetD32Async"); break;
            case DType.BF16: Driver.Check(Driver.cuMemsetD16Async(p, PFStorer.Kernels.Cpu.Bf16.FromFloat((float)value), (nuint)n, s), "cuMemsetD16Async"); break;
            case DType.F16: Driver.Check(Driver.cuMemsetD16Async(p, BitConverter.HalfToUInt16Bits((Half)value), (nuint)n, s), "cuMemsetD16Async"); break;
            case DType.I64: Elementwise(Fn(CastKernels, "fill_u64"), n, p, n, unchecked((ulong)(long)value)); break;
            default: throw new NotSupportedException($"fill of {destination.DType}");
        }
    }
}
