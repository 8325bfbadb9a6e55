namespace PFStorer.Kernels.Cuda;

/// <summary>
/// One kernels/NAME.cu and the template instantiations its launcher uses, as NVRTC name expressions
/// ("unary_fwd&lt;float, 0&gt;"). NVRTC instantiates exactly these and reports their mangled names; the launcher looks
/// kernels up by the same strings. Each launcher declares its families beside the code that launches them.
/// </summary>
public sealed record KernelFamily(string Name, IReadOnlyList<string> NameExpressions)
{
    /// <summary>Storage types of the float kernels: float (the f32 parity mode) and bf16 (bf16 storage, f32 arithmetic).</summary>
    public static readonly string[] FloatTypes = ["float", "bf16"];

    /// <summary>The kernels' C++ name of a dtype (common.cuh's typedefs).</summary>
    public static string TypeName(DType t) => t switch
    {
        DType.F32 => "float",
        DType.BF16 => "bf16",
        DType.F16 => "f16",
        DType.I32 => "int",
        DType.I64 => "i64",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>The expressions <paramref name="names"/> gives for each float storage type.</summary>
    public static IEnumerable<string> PerFloatType(Func<string, IEnumerable<string>> names) => FloatTypes.SelectMany(names);

    /// <summary>One expression per value 0 … count−1 of an enum template argument (unary, binary, reduce ops).</summary>
    public static IEnumerable<string> PerOp(int count, Func<int, string> name) => Enumerable.Range(0, count).Select(name);

    public override string ToString() => $"kernels/{Name}.cu";
}
