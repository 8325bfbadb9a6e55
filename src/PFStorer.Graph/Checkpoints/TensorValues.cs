using System.Numerics;
using System.Runtime.InteropServices;

namespace PFStorer.Graph.Checkpoints;

/// <summary>What a tensor's values look like: how many are NaN, ±Inf and zero, out of how many.</summary>
public readonly record struct ValueCounts(long NaN, long Infinite, long Zero, long Count)
{
    public long NonFinite => NaN + Infinite;
    /// <summary>Every value is zero: legal (a fresh zero-initialised layer) but in a trained checkpoint a sign of damage.</summary>
    public bool AllZero => Count > 0 && Zero == Count;

    public static ValueCounts operator +(ValueCounts a, ValueCounts b) => new(a.NaN + b.NaN, a.Infinite + b.Infinite, a.Zero + b.Zero, a.Count + b.Count);

    public override string ToString() => $"{NonFinite} non-finite ({NaN} NaN, {Infinite} Inf), {Zero} zero of {Count} values";
}

/// <summary>
/// Counts the values of checkpoint tensors (streamed chunk by chunk, in the file's precision) and of loaded float
/// tensors. `weights verify` reports them; loading weights for restoration refuses any non-finite value.
/// </summary>
public static class TensorValues
{
    /// <summary>Reads the tensor once; F64 and integer tensors are counted in double precision, the rest in f32.</summary>
    public static ValueCounts Count(Checkpoint checkpoint, CheckpointTensor tensor)
    {
        var total = new ValueCounts();
        if (tensor.DType == CheckpointDType.F64 || !tensor.DType.IsFloat())
            checkpoint.ReadElements(tensor, CheckpointDType.F64, chunk => total += Count(MemoryMarshal.Cast<byte, double>(chunk)));
        else
            checkpoint.ReadElements(tensor, CheckpointDType.F32, chunk => total += Count(MemoryMarshal.Cast<byte, float>(chunk)));
        return total;
    }

    public static ValueCounts Count(ReadOnlySpan<float> values) => CountCore(values);

    public static ValueCounts Count(ReadOnlySpan<double> values) => CountCore(values);

    private static ValueCounts CountCore<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long nan = 0, inf = 0, zero = 0;
        foreach (var v in values)
        {
            if (T.IsNaN(v)) nan++;
            else if (T.IsInfinity(v)) inf++;
            else if (v == T.Zero) zero++;
        }
        return new ValueCounts(nan, inf, zero, values.Length);
    }
}
