namespace PFStorer.Kernels;

/// <summary>Element types a tensor can hold. Compute is f32 (or f32-accumulated bf16 on the GPU); f16/bf16 are storage formats.</summary>
public enum DType : byte { F32, F16, BF16, I32, I64 }

public static class DTypeInfo
{
    public static int Size(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static bool IsFloat(this DType t) => t is DType.F32 or DType.F16 or DType.BF16;
}
