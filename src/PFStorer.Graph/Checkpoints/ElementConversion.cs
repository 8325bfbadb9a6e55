using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Checkpoints;

/// <summary>Converts runs of little-endian elements between checkpoint dtypes (floats exactly or round-to-nearest-even).</summary>
internal static class ElementConversion
{
    public static bool CanConvert(CheckpointDType from, CheckpointDType to) => from == to || to.IsFloat() || !from.IsFloat();

    public static void Convert(ReadOnlySpan<byte> src, CheckpointDType from, Span<byte> dst, CheckpointDType to, int count)
    {
        if (from == to)
        {
            src[..(count * from.Size())].CopyTo(dst);
            return;
        }
        if (from == CheckpointDType.F16 && to == CheckpointDType.F32)
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src)[..count], MemoryMarshal.Cast<byte, float>(dst)[..count]);
            return;
        }
        if (from == CheckpointDType.F32 && to == CheckpointDType.F16)
        {
            TensorPrimitives.ConvertToHalf(MemoryMarshal.Cast<byte, float>(src)[..count], MemoryMarshal.Cast<byte, Half>(dst)[..count]);
            return;
        }
        if (from == CheckpointDType.BF16 && to == CheckpointDType.F32)
        {
            WidenBf16(MemoryMarshal.Cast<byte, ushort>(src)[..count], MemoryMarshal.Cast<byte, uint>(dst)[..count]);
            return;
        }
        if (!CanConvert(from, to)) throw new InvalidOperationException($"refusing to convert {from} to {to} (floats do not become integers at load)");
        if (to.IsFloat())
            for (int i = 0; i < count; i++) WriteFloat(dst, to, i, ReadDouble(src, from, i));
        else
            for (int i = 0; i < count; i++) WriteInteger(dst, to, i, ReadInteger(src, from, i));
    }

    // bf16 is the top half of an f32: widening is a 16-bit shift, exact for every value including NaN payloads.
    private static void WidenBf16(ReadOnlySpan<ushort> src, Span<uint> dst)
    {
        int i = 0;
        for (; i <= src.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
        {
            Vector.Widen(new Vector<ushort>(src[i..]), out var low, out var high);
            (low << 16).CopyTo(dst[i..]);
            (high << 16).CopyTo(dst[(i + Vector<uint>.Count)..]);
        }
        for (; i < src.Length; i++) dst[i] = (uint)src[i] << 16;
    }

    private static double ReadDouble(ReadOnlySpan<byte> s, CheckpointDType t, int i) => t switch
    {
        CheckpointDType.F64 => MemoryMarshal.Cast<byte, double>(s)[i],
        CheckpointDType.F32 => MemoryMarshal.Cast<byte, float>(s)[i],
        CheckpointDType.F16 => (double)MemoryMarshal.Cast<byte, Half>(s)[i],
        CheckpointDType.BF16 => Bf16.ToFloat(MemoryMarshal.Cast<byte, ushort>(s)[i]),
        _ => ReadInteger(s, t, i),
    };

    private static long ReadInteger(ReadOnlySpan<byte> s, CheckpointDType t, int i) => t switch
    {
        CheckpointDType.I64 => MemoryMarshal.Cast<byte, long>(s)[i],
        CheckpointDType.I32 => MemoryMarshal.Cast<byte, int>(s)[i],
        CheckpointDType.I16 => MemoryMarshal.Cast<byte, short>(s)[i],
        CheckpointDType.I8 => (sbyte)s[i],
        CheckpointDType.U8 => s[i],
        CheckpointDType.Bool => s[i] != 0 ? 1 : 0,
        _ => throw new InvalidOperationException($"{t} is not an integer type"),
    };

    // f64 → f16 rounds once, straight from the double (no double rounding through f32).
    private static void WriteFloat(Span<byte> d, CheckpointDType t, int i, double v)
    {
        switch (t)
        {
            case CheckpointDType.F64: MemoryMarshal.Cast<byte, double>(d)[i] = v; break;
            case CheckpointDType.F32: MemoryMarshal.Cast<byte, float>(d)[i] = (float)v; break;
            case CheckpointDType.F16: MemoryMarshal.Cast<byte, Half>(d)[i] = (Half)v; break;
            case CheckpointDType.BF16: MemoryMarshal.Cast<byte, ushort>(d)[i] = Bf16.FromFloat((float)v); break;
            default: throw new InvalidOperationException($"{t} is not a float type");
        }
    }

    private static void WriteInteger(Span<byte> d, CheckpointDType t, int i, long v)
    {
        switch (t)
        {
            case CheckpointDType.I64: MemoryMarshal.Cast<byte, long>(d)[i] = v; break;
            case CheckpointDType.I32: MemoryMarshal.Cast<byte, int>(d)[i] = checked((int)v); break;
            case CheckpointDType.I16: MemoryMarshal.Cast<byte, short>(d)[i] = checked((short)v); break;
            case CheckpointDType.I8: d[i] = (byte)checked((sbyte)v); break;
            case CheckpointDType.U8: d[i] = checked((byte)v); break;
            case CheckpointDType.Bool: d[i] = v != 0 ? (byte)1 : (byte)0; break;
            default: throw new InvalidOperationException($"{t} is not an integer type");
        }
    }
}
