using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

/// <summary>
/// The differentiable operations. Each one allocates its outputs from the device pool, runs the backend forward and,
/// when an input requires grad (and grad mode is on), records a tape node whose backward computes only the gradients
/// that some input needs. Callers own (and dispose) every returned tensor. Split by op family across partial files.
/// </summary>
public static partial class F
{
    /// <summary>A contiguous handle on x (shared when already contiguous); dispose it.</summary>
    internal static Tensor Contig(Tensor x) => x.IsContiguous ? x.Share() : x.Contiguous();

    internal static Tensor EmptyLike(Tensor x) => Tensor.Empty(x.Shape, DType.F32, x.Device);

    internal static Tensor Empty(Tensor like, params int[] shape) => Tensor.Empty(shape, DType.F32, like.Device);

    internal static Tensor Scratch(Tensor like, ReadOnlySpan<int> shape) => Tensor.Empty(shape, DType.F32, like.Device);

    internal static bool Needs(Tensor? t) => t is { RequiresGrad: true };

    internal static void CheckSameDevice(params Tensor?[] ts)
    {
        Device? d = null;
        foreach (var t in ts)
        {
            if (t == null) continue;
            if (d == null) d = t.Device;
            else if (t.Device != d) throw new ArgumentException($"tensors on different devices: {d} and {t.Device}");
        }
    }

    internal static Tensor[] NonNull(params Tensor?[] ts) => ts.Where(t => t != null).ToArray()!;

    /// <summary>The backward of a one-output op: contiguous dy, the inputs it kept, which inputs need a gradient → their gradients.</summary>
    internal delegate Tensor?[] OpBackward(Tensor dy, Tensor?[] kept, bool[] needs);

    /// <summary>
    /// The steps every one-output op shares: contiguous handles on the inputs (null stays null), the output [shape]
    /// allocated from the device pool, the backend forward into it; then, when an input needs a gradient, a tape node
    /// that keeps the contiguous inputs the backward reads (<paramref name="keep"/>; all when null) and calls
    /// <paramref name="backward"/> with a contiguous dy. A null backward marks an inference-only op, refused under a
    /// recording tape rather than cutting the gradient silently. Ops that save more than their inputs (norm statistics,
    /// attention's log-sum-exp, argmax indices) record their own node.
    /// </summary>
    internal static Tensor Apply(string name, Tensor?[] inputs, ReadOnlySpan<int> shape, Action<Tensor?[], Tensor> forward,
        OpBackward? backward, bool[]? keep = null)
    {
        CheckSameDevice(inputs);
        bool record = Tape.ShouldRecord(inputs);
        if (record && backward == null)
            throw new NotSupportedException($"{name}: no backward (inference-only op); run it under no-grad or detach its inputs");
        var contiguous = Array.ConvertAll(inputs, t => t == null ? null : Contig(t));
        try
        {
            var y = Tensor.Empty(shape, DType.F32, inputs[0]!.Device);
            try
            {
                forward(contiguous, y);
            }
            catch
            {
                y.Dispose();
                throw;
            }
            if (record)
            {
                var kept = contiguous.Select((c, i) => keep == null || keep[i] ? c?.Share() : null).ToArray();
                var needs = Array.ConvertAll(inputs, Needs);
                Tape.Record(name, inputs, [y], g =>
                {
                    using var dy = Contig(g[0]!);
                    return backward!(dy, kept, needs);
                }, NonNull(kept));
            }
            return y;
        }
        finally
        {
            foreach (var c in contiguous) c?.Dispose();
        }
    }

    /// <summary>Autograd-aware reshape (a view when x is contiguous).</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        using var c = Contig(x);
        var y = c.View(shape);
        if (Tape.ShouldRecord([x]))
        {
            var inShape = x.ShapeArray();
            Tape.Record("reshape", [x], [y], g =>
            {
                using var gc = Contig(g[0]!);
                return [gc.View(inShape)];
            });
        }
        return y;
    }

    /// <summary>Autograd-aware permutation; the result is a contiguous copy.</summary>
    public static Tensor Permute(Tensor x, params int[] dims)
    {
        using var view = x.Permute(dims);
        var y = view.Contiguous();
        if (Tape.ShouldRecord([x]))
        {
            var inverse = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++) inverse[dims[i] < 0 ? dims[i] + dims.Length : dims[i]] = i;
            Tape.Record("permute", [x], [y], g =>
            {
                using var back = g[0]!.Permute(inverse);
                return [back.Contiguous()];
            });
        }
        return y;
    }

    /// <summary>Autograd-aware slice as a contiguous copy.</summary>
    public static Tensor Slice(Tensor x, int dim, int start, int length)
    {
        if (dim < 0) dim += x.Rank;
        using var view = x.Slice(dim, start, length);
        var y = view.Contiguous();
        if (Tape.ShouldRecord([x]))
        {
            var inShape = x.ShapeArray();
            Tape.Record("slice", [x], [y], g =>
            {
                var dx = Tensor.Zeros(inShape, DType.F32, g[0]!.Device);
                using var dst = dx.Slice(dim, start, length);
                CopyInto(g[0]!, dst);
                return [dx];
            });
        }
        return y;
    }

    /// <summary>Copies src into a (possibly strided) destination view of the same shape.</summary>
    internal static void CopyInto(Tensor src, Tensor dstView)
    {
        if (dstView.IsContiguous) { src.Backend.Copy(src, dstView); return; }
        // Backends write contiguous destinations; a strided one is split along its first dimension of size > 1 (size-1
        // dimensions never make a view strided, so splitting them would not progress).
        int dim = 0;
        while (dstView.Dim(dim) == 1) dim++;
        for (int i = 0; i < dstView.Dim(dim); i++)
        {
            using var s = src.Slice(dim, i, 1);
            using var d = dstView.Slice(dim, i, 1);
            CopyInto(s, d);
        }
    }
}
