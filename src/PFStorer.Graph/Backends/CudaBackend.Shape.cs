using PFStorer.Kernels.Cuda;
using PFStorer.Kernels;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily ShapeKernels = new("shape", [
        .. KernelFamily.PerFloatType(t => [$"concat_part<{t}>", $"upsample2x_fwd<{t}>", $"upsample2x_bwd<{t}>", $"sum_to_shape<{t}>"]),
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"reduce_fwd<{t}, {op}>")),
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"reduce_bwd<{t}, {op}>"))]);

    public void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor y)
    {
        if (dim < 0) dim += y.Rank;
        var t = FloatType("concat", [.. inputs, y]);
        long outer = 1, after = 1;
        for (int d = 0; d < dim; d++) outer *= y.Dim(d);
        for (int d = dim + 1; d < y.Rank; d++) after *= y.Dim(d);
        long innerDst = y.Dim(dim) * after, offset = 0;
        foreach (var x in inputs)
        {
            if (x.Rank != y.Rank) throw new ArgumentException($"concat: {x.ShapeString} and {y.ShapeString} differ in rank");
            long innerSrc = x.Dim(dim) * after;
            Elementwise(Fn(ShapeKernels, $"concat_part<{t}>"), outer * innerSrc, Ptr(x), Ptr(y), outer, innerSrc, innerDst, offset);
            offset += innerSrc;
        }
        if (offset != innerDst) throw new ArgumentException($"concat: inputs fill {offset / Math.Max(after, 1)} of {y.Dim(dim)} along dim {dim}");
    }

    public void Upsample2x(Tensor x, Tensor y)
    {
        var (planes, h, w) = UpsampleShape(x, y);
        var t = FloatType("upsample", x, y);
        Elementwise(Fn(ShapeKernels, $"upsample2x_fwd<{t}>"), y.Numel, Ptr(x), Ptr(y), planes, h, w);
    }

    public void Upsample2xBackward(Tensor dy, Tensor dx)
    {
        var (planes, h, w) = UpsampleShape(dx, dy);
        var t = FloatType("upsample backward", dx, dy);
        Elementwise(Fn(ShapeKernels, $"upsample2x_bwd<{t}>"), dx.Numel, Ptr(dy), Ptr(dx), planes, h, w);
    }

    private static (long Planes, int H, int W) UpsampleShape(Tensor small, Tensor large)
    {
        if (small.Rank != 4 || large.Rank != 4 || large.Dim(0) != small.Dim(0) || large.Dim(1) != small.Dim(1)
            || large.Dim(2) != 2 * small.Dim(2) || large.Dim(3) != 2 * small.Dim(3))
            throw new ArgumentException($"upsample2x: {small.ShapeString} and {large.ShapeString} are not [B,C,H,W] and [B,C,2H,2W]");
        return ((long)small.Dim(0) * small.Dim(1), small.Dim(2), small.Dim(3));
    }

    public void Reduce(ReduceOp op, Tensor x, int dim, Tensor y, Tensor? argIndex)
    {
        var (outer, n, inner) = ReduceShape(x, ref dim, y);
        var t = FloatType("reduce", x, y);
        if (argIndex != null && argIndex.DType != DType.I32) throw new ArgumentException($"reduce: argIndex must be I32, got {argIndex}");
        Elementwise(Fn(ShapeKernels, $"reduce_fwd<{t}, {(int)op}>"), outer * inner, Ptr(x), Ptr(y), Opt(argIndex), outer, n, inner);
    }

    public void ReduceBackward(ReduceOp op, Tensor dy, Tensor? argIndex, int dim, Tensor dx)
    {
        var (outer, n, inner) = ReduceShape(dx, ref dim, dy);
        if (op == ReduceOp.Max && argIndex == null) throw new ArgumentException("reduce backward: Max needs the argIndex of the forward pass");
        var t = FloatType("reduce backward", dy, dx);
        Elementwise(Fn(ShapeKernels, $"reduce_bwd<{t}, {(int)op}>"), dx.Numel, Ptr(dy), Opt(argIndex), Ptr(dx), outer, n, inner);
    }

    private static (long Outer, long N, long Inner) ReduceShape(Tensor x, ref int dim, Tensor y)
    {
        if (dim < 0) dim += x.Rank;
        if (dim < 0 || dim >= x.Rank) throw new ArgumentOutOfRangeException(nameof(dim), $"reduce: dim out of range for {x.ShapeString}");
        long outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= x.Dim(d);
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.Dim(d);
        if (y.Numel != outer * inner) throw new ArgumentException($"reduce: {y.ShapeString} is not {x.ShapeString} without dim {dim}");
        return (outer, x.Dim(dim), inner);
    }

    public unsafe void SumToShape(Tensor source, Tensor destination)
    {
        var t = FloatType("sum to shape", source, destination);
        int rank = source.Rank, offset = rank - destination.Rank;
        if (offset < 0) throw new ArgumentException($"sum to shape: {destination.ShapeString} has more dims than {source.ShapeString}");
        var srcStrides = Tensor.ContiguousStrides(source.Shape);
        var keepSize = new List<int>();
        var keepStride = new List<long>();
        var redSize = new List<int>();
        var redStride = new List<long>();
        for (int d = 0; d < rank; d++)
        {
            int dd = d - offset, size = dd >= 0 ? destination.Dim(dd) : 1;
            if (size == source.Dim(d)) { keepSize.Add(size); keepStride.Add(srcStrides[d]); }
            else if (size == 1) { redSize.Add(source.Dim(d)); redStride.Add(srcStrides[d]); }
            else throw new ArgumentException($"sum to shape: {source.ShapeString} does not reduce to {destination.ShapeString}");
        }
        long nRed = redSize.Aggregate(1L, (p, s) => p * s);
        var keep = StridedLayout.Create(keepSize.ToArray(), keepStride.ToArray());
        var red = StridedLayout.Create(redSize.ToArray(), redStride.ToArray());
        Elementwise(Fn(ShapeKernels, $"sum_to_shape<{t}>"), destination.Numel, Ptr(source), Ptr(destination), destination.Numel, nRed,
            KernelArg.ByValue(&keep), KernelArg.ByValue(&red));
    }
}
