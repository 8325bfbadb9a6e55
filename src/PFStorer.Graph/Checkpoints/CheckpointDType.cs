using PFStorer.Kernels;

namespace PFStorer.Graph.Checkpoints;

/// <summary>Element types as stored in checkpoint files (a superset of the engine's compute <see cref="DType"/>).</summary>
public enum CheckpointDType : byte { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool }

public static class CheckpointDTypeInfo
{
    public static int Size(this CheckpointDType t) => t switch
    {
        CheckpointDType.F64 or CheckpointDType.I64 => 8,
        CheckpointDType.F32 or CheckpointDType.I32 => 4,
        CheckpointDType.F16 or CheckpointDType.BF16 or CheckpointDType.I16 => 2,
        CheckpointDType.I8 or CheckpointDType.U8 or CheckpointDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static bool IsFloat(this CheckpointDType t) => t is CheckpointDType.F64 or CheckpointDType.F32 or CheckpointDType.F16 or CheckpointDType.BF16;

    /// <summary>The safetensors header name ("F32", "BF16", "BOOL", ...).</summary>
    public static string SafetensorsName(this CheckpointDType t) => t.ToString().ToUpperInvariant();

    public static bool TryParseSafetensorsName(string name, out CheckpointDType t)
    {
        foreach (var v in Enum.GetValues<CheckpointDType>())
            if (v.SafetensorsName() == name) { t = v; return true; }
        t = default;
        return false;
    }

    /// <summary>torch's legacy typed-storage class names, as they appear in a pickle's persistent ids.</summary>
    public static bool TryParseTorchStorage(string className, out CheckpointDType t)
    {
        (bool ok, t) = className switch
        {
            "DoubleStorage" => (true, CheckpointDType.F64),
            "FloatStorage" => (true, CheckpointDType.F32),
            "HalfStorage" => (true, CheckpointDType.F16),
            "BFloat16Storage" => (true, CheckpointDType.BF16),
            "LongStorage" => (true, CheckpointDType.I64),
            "IntStorage" => (true, CheckpointDType.I32),
            "ShortStorage" => (true, CheckpointDType.I16),
            "CharStorage" => (true, CheckpointDType.I8),
            "ByteStorage" => (true, CheckpointDType.U8),
            "BoolStorage" => (true, CheckpointDType.Bool),
            _ => (false, default(CheckpointDType)),
        };
        return ok;
    }

    /// <summary>The engine dtype a tensor gets at load: floats compute in f32, integers widen to i32 unless they are i64.</summary>
    public static DType ComputeDType(this CheckpointDType t) => t switch
    {
        _ when t.IsFloat() => DType.F32,
        CheckpointDType.I64 => DType.I64,
        _ => DType.I32,
    };

    /// <summary>The file dtype that holds an engine dtype bit-exactly.</summary>
    public static CheckpointDType FromEngine(DType t) => t switch
    {
        DType.F32 => CheckpointDType.F32,
        DType.F16 => CheckpointDType.F16,
        DType.BF16 => CheckpointDType.BF16,
        DType.I32 => CheckpointDType.I32,
        DType.I64 => CheckpointDType.I64,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>The engine dtype with the same bytes, if there is one (needed for zero-copy views).</summary>
    public static DType? EngineEquivalent(this CheckpointDType t) => t switch
    {
        CheckpointDType.F32 => DType.F32,
        CheckpointDType.F16 => DType.F16,
        CheckpointDType.BF16 => DType.BF16,
        CheckpointDType.I32 => DType.I32,
        CheckpointDType.I64 => DType.I64,
        _ => null,
    };
}
