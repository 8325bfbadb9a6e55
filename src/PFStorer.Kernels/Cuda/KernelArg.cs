using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cuda;

/// <summary>
/// One kernel parameter for <see cref="CudaDevice.Launch"/>: a scalar or device pointer held by value (little-endian in
/// 8 bytes, so the kernel reads its 4 or 8), or a pointer to a struct the caller keeps alive for the launch call
/// (the driver copies parameters when the launch is issued). The implicit conversions keep call sites short; pass
/// exactly the C type the kernel declares (long for i64, int for int, float for float, nint for pointers).
/// </summary>
public readonly unsafe struct KernelArg
{
    internal readonly ulong Bits;
    internal readonly void* Struct;

    private KernelArg(ulong bits, void* structPointer)
    {
        Bits = bits;
        Struct = structPointer;
    }

    public static implicit operator KernelArg(int v) => new((uint)v, null);
    public static implicit operator KernelArg(long v) => new((ulong)v, null);
    public static implicit operator KernelArg(float v) => new(BitConverter.SingleToUInt32Bits(v), null);
    public static implicit operator KernelArg(nint pointer) => new((ulong)pointer, null);
    public static implicit operator KernelArg(ulong v) => new(v, null);

    /// <summary>A struct passed by value; <paramref name="value"/> must stay alive until the launch returns.</summary>
    public static KernelArg ByValue<T>(T* value) where T : unmanaged => new(0, value);
}

/// <summary>Mirror of the kernels' Layout struct (common.cuh): sizes and strides of a view of up to 8 dims.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8 + 2 * 8 * MaxRank)]
public unsafe struct StridedLayout
{
    public const int MaxRank = 8;
    [FieldOffset(0)] public int Rank;
    [FieldOffset(8)] public fixed long Size[MaxRank];
    [FieldOffset(8 + 8 * MaxRank)] public fixed long Stride[MaxRank];

    public static StridedLayout Create(ReadOnlySpan<int> sizes, ReadOnlySpan<long> strides)
    {
        if (sizes.Length != strides.Length) throw new ArgumentException("sizes and strides differ in rank");
        if (sizes.Length > MaxRank) throw new ArgumentException($"views of more than {MaxRank} dims are not supported on the GPU (rank {sizes.Length})");
        var l = new StridedLayout { Rank = Math.Max(1, sizes.Length) };
        l.Size[0] = 1;
        l.Stride[0] = 0;
        for (int d = 0; d < sizes.Length; d++) { l.Size[d] = sizes[d]; l.Stride[d] = strides[d]; }
        return l;
    }
}
