using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// The adjoint of numpy broadcasting: sums a tensor down to a shape it was broadcast from (bias gradients,
/// gradients of broadcast binary ops, shared-operand batched GEMM gradients).
/// </summary>
public static class BroadcastSum
{
    /// <summary>
    /// dst = src summed over every dimension where dstShape (right-aligned, missing leading dims = 1) is 1 and srcShape is not.
    /// Both are contiguous row-major.
    /// </summary>
    public static void SumToShape(ReadOnlySpan<float> src, ReadOnlySpan<int> srcShape, Span<float> dst, ReadOnlySpan<int> dstShape)
    {
        // Extra leading size-1 destination dims (e.g. [1, C] from [C]) hold the same elements; drop them.
        while (dstShape.Length > srcShape.Length && dstShape[0] == 1) dstShape = dstShape[1..];
        if (dstShape.Length > srcShape.Length) throw Mismatch(srcShape, dstShape);
        // Collapse to alternating runs of kept / reduced dims (size-1 source dims vanish); runs of the same kind merge
        // because both tensors are row-major, so the whole reduction is an odometer over a few (size, kept) runs.
        Span<int> sizes = stackalloc int[srcShape.Length];
        Span<bool> kept = stackalloc bool[srcShape.Length];
        int runs = 0;
        long srcCount = 1, dstCount = 1;
        for (int i = 0; i < srcShape.Length; i++)
        {
            int j = i - (srcShape.Length - dstShape.Length);
            int s = srcShape[i], d = j >= 0 ? dstShape[j] : 1;
            if (d != s && d != 1) throw Mismatch(srcShape, dstShape);
            srcCount *= s;
            dstCount *= d;
            if (s == 1) continue;
            bool keep = d == s;
            if (runs > 0 && kept[runs - 1] == keep) sizes[runs - 1] *= s;
            else { sizes[runs] = s; kept[runs] = keep; runs++; }
        }
        if (src.Length != srcCount || dst.Length != dstCount)
            throw new ArgumentException($"sum-to-shape: buffers of {src.Length} and {dst.Length} elements for shapes [{string.Join(',', srcShape.ToArray())}] and [{string.Join(',', dstShape.ToArray())}]");
        dst.Clear();
        if (srcCount == 0) return;
        if (runs == 0) { dst[0] = src[0]; return; }

        int inner = sizes[runs - 1];
        bool innerKept = kept[runs - 1];
        int outerRuns = runs - 1;
        // dst stride of each outer kept run (reduced runs do not move the destination).
        Span<long> dstStride = stackalloc long[Math.Max(outerRuns, 1)];
        long stride = innerKept ? inner : 1;
        for (int r = outerRuns - 1; r >= 0; r--)
        {
            dstStride[r] = kept[r] ? stride : 0;
            if (kept[r]) stride *= sizes[r];
        }
        Span<int> index = stackalloc int[Math.Max(outerRuns, 1)];
        long dstOffset = 0;
        for (long srcOffset = 0; srcOffset < srcCount; srcOffset += inner)
        {
            var row = src.Slice((int)srcOffset, inner);
            if (innerKept)
            {
                var target = dst.Slice((int)dstOffset, inner);
                TensorPrimitives.Add(target, row, target);
            }
            else dst[(int)dstOffset] += TensorPrimitives.Sum(row);
            for (int r = outerRuns - 1; r >= 0; r--)
            {
                dstOffset += dstStride[r];
                if (++index[r] < sizes[r]) break;
                dstOffset -= dstStride[r] * sizes[r];
                index[r] = 0;
            }
        }
    }

    private static ArgumentException Mismatch(ReadOnlySpan<int> src, ReadOnlySpan<int> dst) =>
        new($"sum-to-shape: [{string.Join(',', dst.ToArray())}] is not a broadcast source of [{string.Join(',', src.ToArray())}]");
}
