namespace PFStorer.Graph.Backends;

public enum ReduceOp : byte { Sum, Mean, Max }

public partial interface IBackend
{
    /// <summary>Concatenates along <paramref name="dim"/>; inputs agree on every other dim. (Split is a slice view + Copy.)</summary>
    void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor y);

    /// <summary>Nearest-neighbour 2× upsampling of x [B,C,H,W] into y [B,C,2H,2W], and its adjoint.</summary>
    void Upsample2x(Tensor x, Tensor y);
    void Upsample2xBackward(Tensor dy, Tensor dx);

    /// <summary>
    /// Reduction along <paramref name="dim"/> (y has that dim removed). For Max, <paramref name="argIndex"/> (I32, shape of y)
    /// receives the index of the first maximum.
    /// </summary>
    void Reduce(ReduceOp op, Tensor x, int dim, Tensor y, Tensor? argIndex);

    /// <summary>Adjoint of <see cref="Reduce"/>: spreads dy (shape of y) back over dim into dx (shape of x); Max routes to argIndex.</summary>
    void ReduceBackward(ReduceOp op, Tensor dy, Tensor? argIndex, int dim, Tensor dx);

    /// <summary>Sums <paramref name="source"/> over the dimensions where <paramref name="destination"/> is broadcast (numpy rules, right-aligned; destination may have fewer dims or size-1 dims).</summary>
    void SumToShape(Tensor source, Tensor destination);
}
