using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor y)
    {
        if (dim < 0) dim += y.Rank;
        var (outer, _, inner) = AroundDim(y, dim);
        long pitch = (long)y.Dim(dim) * inner, offset = 0;
        var dst = F32(y);
        foreach (var x in inputs)
        {
            if (x.Rank != y.Rank) throw new ArgumentException($"concat: input {x.ShapeString} and output {y.ShapeString} differ in rank");
            long block = (long)x.Dim(dim) * inner;
            ShapeCpu.CopyBlocks(F32(x), dst, outer, block, pitch, offset);
            offset += block;
        }
        if (offset != pitch) throw new ArgumentException($"concat: inputs fill {offset / Math.Max(1, inner)} of {y.Dim(dim)} along dim {dim}");
    }

    public void Upsample2x(Tensor x, Tensor y)
    {
        CheckUpsample(x, y);
        ShapeCpu.Upsample2x(F32(x), F32(y), (long)x.Dim(0) * x.Dim(1), x.Dim(2), x.Dim(3));
    }

    public void Upsample2xBackward(Tensor dy, Tensor dx)
    {
        CheckUpsample(dx, dy);
        ShapeCpu.Upsample2xBackward(F32(dy), F32(dx), (long)dx.Dim(0) * dx.Dim(1), dx.Dim(2), dx.Dim(3));
    }

    public void Reduce(ReduceOp op, Tensor x, int dim, Tensor y, Tensor? argIndex)
    {
        var (outer, n, inner) = AroundDim(x, dim < 0 ? dim + x.Rank : dim);
        switch (op)
        {
            case ReduceOp.Sum: ReduceCpu.Sum(F32(x), F32(y), outer, n, inner, 1f); break;
            case ReduceOp.Mean: ReduceCpu.Sum(F32(x), F32(y), outer, n, inner, 1f / n); break;
            case ReduceOp.Max: ReduceCpu.Max(F32(x), F32(y), argIndex == null ? default : I32(argIndex), outer, n, inner); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        }
    }

    public void ReduceBackward(ReduceOp op, Tensor dy, Tensor? argIndex, int dim, Tensor dx)
    {
        var (outer, n, inner) = AroundDim(dx, dim < 0 ? dim + dx.Rank : dim);
        switch (op)
        {
            case ReduceOp.Sum: ReduceCpu.SumBackward(F32(dy), F32(dx), outer, n, inner, 1f); break;
            case ReduceOp.Mean: ReduceCpu.SumBackward(F32(dy), F32(dx), outer, n, inner, 1f / n); break;
            case ReduceOp.Max:
                if (argIndex == null) throw new ArgumentException("max backward needs the argIndex of the forward pass");
                ReduceCpu.MaxBackward(F32(dy), I32(argIndex), F32(dx), outer, n, inner);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        }
    }

    private static Span<int> I32(Tensor t)
    {
        if (t.DType != DType.I32) throw new ArgumentException($"CPU op expects i32, got {t.DType} for {t}");
        return t.Span<int>();
    }

    /// <summary>x viewed as [outer, n, inner] around <paramref name="dim"/>.</summary>
    private static (long Outer, int N, long Inner) AroundDim(Tensor x, int dim)
    {
        if (dim < 0 || dim >= x.Rank) throw new ArgumentOutOfRangeException(nameof(dim), $"dim {dim} of {x.ShapeString}");
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= x.Dim(i);
        for (int i = dim + 1; i < x.Rank; i++) inner *= x.Dim(i);
        return (outer, x.Dim(dim), inner);
    }

    private static void CheckUpsample(Tensor small, Tensor large)
    {
        if (small.Rank != 4 || large.Rank != 4 || large.Dim(0) != small.Dim(0) || large.Dim(1) != small.Dim(1)
            || large.Dim(2) != 2 * small.Dim(2) || large.Dim(3) != 2 * small.Dim(3))
            throw new ArgumentException($"upsample2x: {small.ShapeString} and {large.ShapeString} are not [B,C,H,W] and [B,C,2H,2W]");
    }

    public void SumToShape(Tensor source, Tensor destination) =>
        BroadcastSum.SumToShape(F32(source), source.Shape, F32(destination), destination.Shape);
}
