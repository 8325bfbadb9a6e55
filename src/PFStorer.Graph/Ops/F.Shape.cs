using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Concatenation along <paramref name="dim"/> (the UNet skip connections concatenate channels, h first).</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int dim = 1)
    {
        if (xs.Count == 0) throw new ArgumentException("concat of nothing");
        CheckSameDevice([.. xs]);
        int rank = xs[0].Rank;
        if (dim < 0) dim += rank;
        var shape = xs[0].ShapeArray();
        shape[dim] = 0;
        foreach (var x in xs)
        {
            if (x.Rank != rank) throw new ArgumentException("concat: ranks differ");
            for (int i = 0; i < rank; i++)
                if (i != dim && x.Dim(i) != shape[i]) throw new ArgumentException($"concat: {x.ShapeString} does not match along dim {i}");
            shape[dim] += x.Dim(dim);
        }
        var cs = xs.Select(Contig).ToArray();
        var y = Tensor.Empty(shape, DType.F32, xs[0].Device);
        xs[0].Backend.Concat(cs, dim, y);
        foreach (var c in cs) c.Dispose();

        Tensor?[] inputs = [.. xs];
        if (Tape.ShouldRecord(inputs))
        {
            var sizes = xs.Select(x => x.Dim(dim)).ToArray();
            var needs = xs.Select(x => x.RequiresGrad).ToArray();
            Tape.Record("concat", inputs, [y], g =>
            {
                var grads = new Tensor?[sizes.Length];
                int at = 0;
                for (int i = 0; i < sizes.Length; i++)
                {
                    if (needs[i])
                    {
                        using var view = g[0]!.Slice(dim, at, sizes[i]);
                        grads[i] = view.Contiguous();
                    }
                    at += sizes[i];
                }
                return grads;
            });
        }
        return y;
    }

    /// <summary>Splits along <paramref name="dim"/> into contiguous pieces of the given sizes.</summary>
    public static Tensor[] Split(Tensor x, int dim, params int[] sizes)
    {
        if (dim < 0) dim += x.Rank;
        if (sizes.Sum() != x.Dim(dim)) throw new ArgumentException($"split sizes {string.Join(',', sizes)} do not add up to {x.Dim(dim)}");
        var outs = new Tensor[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            using var view = x.Slice(dim, at, sizes[i]);
            outs[i] = view.Contiguous();
            at += sizes[i];
        }
        if (Tape.ShouldRecord([x]))
        {
            var inShape = x.ShapeArray();
            Tape.Record("split", [x], outs, g =>
            {
                var dx = Tensor.Zeros(inShape, DType.F32, x.Device);
                int pos = 0;
                for (int i = 0; i < sizes.Length; i++)
                {
                    if (g[i] != null)
                    {
                        using var dst = dx.Slice(dim, pos, sizes[i]);
                        CopyInto(g[i]!, dst);
                    }
                    pos += sizes[i];
                }
                return [dx];
            });
        }
        return outs;
    }

    /// <summary>Nearest-neighbour 2× upsampling of [B,C,H,W].</summary>
    public static Tensor Upsample2x(Tensor x)
    {
        var inShape = x.ShapeArray();
        return Apply("upsample2x", [x], [x.Dim(0), x.Dim(1), x.Dim(2) * 2, x.Dim(3) * 2], (i, y) => y.Backend.Upsample2x(i[0]!, y), (dy, _, _) =>
        {
            var dx = Tensor.Empty(inShape, DType.F32, dy.Device);
            dy.Backend.Upsample2xBackward(dy, dx);
            return [dx];
        }, keep: [false]);
    }

    public static Tensor Sum(Tensor x, int dim) => Reduce(ReduceOp.Sum, x, dim);
    public static Tensor Mean(Tensor x, int dim) => Reduce(ReduceOp.Mean, x, dim);
    public static Tensor Max(Tensor x, int dim) => Reduce(ReduceOp.Max, x, dim);

    /// <summary>Mean of all elements, as a scalar tensor of shape [].</summary>
    public static Tensor Mean(Tensor x) => ReduceAll(ReduceOp.Mean, x);
    public static Tensor Sum(Tensor x) => ReduceAll(ReduceOp.Sum, x);
    public static Tensor Max(Tensor x) => ReduceAll(ReduceOp.Max, x);

    private static Tensor ReduceAll(ReduceOp op, Tensor x)
    {
        using var flat = Reshape(x, -1);
        using var r = Reduce(op, flat, 0);
        return Reshape(r);
    }

    private static Tensor Reduce(ReduceOp op, Tensor x, int dim)
    {
        if (dim < 0) dim += x.Rank;
        using var xc = Contig(x);
        var shape = x.ShapeArray().Where((_, i) => i != dim).ToArray();
        var y = Tensor.Empty(shape, DType.F32, x.Device);
        var arg = op == ReduceOp.Max ? Tensor.Empty(shape, DType.I32, x.Device) : null;
        x.Backend.Reduce(op, xc, dim, y, arg);
        if (Tape.ShouldRecord([x]))
        {
            var inShape = x.ShapeArray();
            Tape.Record(op.ToString().ToLowerInvariant(), [x], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = Tensor.Empty(inShape, DType.F32, dy.Device);
                dy.Backend.ReduceBackward(op, dy, arg, dim, dx);
                return [dx];
            }, NonNull(arg));
        }
        else arg?.Dispose();
        return y;
    }

    /// <summary>Mean squared error over all elements (the LDM losses), as a scalar.</summary>
    public static Tensor MseLoss(Tensor prediction, Tensor target)
    {
        using var d = Sub(prediction, target);
        using var sq = Mul(d, d);
        return Mean(sq);
    }
}
