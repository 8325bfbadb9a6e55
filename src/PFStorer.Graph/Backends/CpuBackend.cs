using System.Runtime.InteropServices;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;
using PFStorer.Kernels.Memory;

namespace PFStorer.Graph.Backends;

/// <summary>
/// The reference backend: every op in plain, vectorised, multi-threaded C#. The math lives in PFStorer.Kernels.Cpu
/// (span-based, one static class per op family); this class adapts tensors to those kernels. Partial: one file per family.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public static CpuBackend Instance { get; } = new();

    private CpuBackend() { }

    public Device Device => Device.Cpu;
    public IMemoryPool Pool => HostMemoryPool.Shared;

    internal static unsafe Span<float> F32(Tensor t)
    {
        if (t.DType != DType.F32) throw new ArgumentException($"CPU op expects f32, got {t.DType} for {t}");
        return t.Span<float>();
    }

    /// <summary>An absent optional tensor (no affine parameter, a gradient nobody needs) is an empty span to the kernels.</summary>
    private static Span<float> F32OrEmpty(Tensor? t) => t == null ? default : F32(t);

    public unsafe void CopyFromHost(ReadOnlySpan<byte> source, Tensor destination)
    {
        if (!destination.IsContiguous) throw new ArgumentException("copy destination must be contiguous");
        source.CopyTo(new Span<byte>((void*)destination.DataPointer, checked((int)(destination.Numel * destination.DType.Size()))));
    }

    public unsafe void CopyToHost(Tensor source, Span<byte> destination)
    {
        if (!source.IsContiguous) throw new ArgumentException("copy source must be contiguous");
        new ReadOnlySpan<byte>((void*)source.DataPointer, checked((int)(source.Numel * source.DType.Size()))).CopyTo(destination);
    }

    public unsafe void Copy(Tensor source, Tensor destination)
    {
        if (!source.Shape.SequenceEqual(destination.Shape)) throw new ArgumentException($"copy: shapes {source.ShapeString} and {destination.ShapeString} differ");
        if (!destination.IsContiguous) throw new ArgumentException("copy destination must be contiguous");
        if (source.IsContiguous && source.DType == destination.DType)
        {
            long bytes = source.Numel * source.DType.Size();
            Buffer.MemoryCopy((void*)source.DataPointer, (void*)destination.DataPointer, bytes, bytes);
            return;
        }
        // General path: walk the source view in row-major order and convert element by element.
        int rank = source.Rank;
        var shape = source.ShapeArray();
        var strides = source.Strides.ToArray();
        var index = new int[rank];
        byte* src = (byte*)source.Storage.Pointer;
        byte* dst = (byte*)destination.DataPointer;
        int es = source.DType.Size(), ed = destination.DType.Size();
        for (long i = 0; i < destination.Numel; i++)
        {
            long off = source.Offset;
            for (int d = 0; d < rank; d++) off += index[d] * strides[d];
            ConvertElement(src + off * es, source.DType, dst + i * ed, destination.DType);
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
    }

    private static unsafe void ConvertElement(byte* s, DType st, byte* d, DType dt)
    {
        if (st == dt)
        {
            for (int b = 0; b < st.Size(); b++) d[b] = s[b];
            return;
        }
        if (st is DType.I32 or DType.I64 && dt is DType.I32 or DType.I64)
        {
            long v = st == DType.I32 ? *(int*)s : *(long*)s;
            if (dt == DType.I32) *(int*)d = checked((int)v); else *(long*)d = v;
            return;
        }
        double x = st switch
        {
            DType.F32 => *(float*)s,
            DType.F16 => (float)*(Half*)s,
            DType.BF16 => Bf16.ToFloat(*(ushort*)s),
            DType.I32 => *(int*)s,
            DType.I64 => *(long*)s,
            _ => throw new NotSupportedException(st.ToString()),
        };
        switch (dt)
        {
            case DType.F32: *(float*)d = (float)x; break;
            case DType.F16: *(Half*)d = (Half)(float)x; break;
            case DType.BF16: *(ushort*)d = Bf16.FromFloat((float)x); break;
            case DType.I32: *(int*)d = (int)x; break;
            case DType.I64: *(long*)d = (long)x; break;
        }
    }

    public unsafe void Fill(Tensor destination, double value)
    {
        if (!destination.IsContiguous) throw new ArgumentException("fill destination must be contiguous");
        switch (destination.DType)
        {
            case DType.F32: destination.Span<float>().Fill((float)value); break;
            case DType.I32: destination.Span<int>().Fill((int)value); break;
            case DType.I64: destination.Span<long>().Fill((long)value); break;
            case DType.F16: MemoryMarshal.Cast<ushort, Half>(destination.Span<ushort>()).Fill((Half)value); break;
            case DType.BF16: destination.Span<ushort>().Fill(Bf16.FromFloat((float)value)); break;
        }
    }
}
