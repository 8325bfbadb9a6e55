using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily ElementwiseKernels = new("elementwise", [
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"unary_fwd<{t}, {op}>")),
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"unary_bwd<{t}, {op}>")),
        .. KernelFamily.PerFloatType(t => [$"geglu_fwd<{t}>", $"geglu_bwd<{t}>", $"affine<{t}>", $"sft_fwd<{t}>", $"sft_bwd<{t}>",
            $"leaky_relu_fwd<{t}>", $"leaky_relu_bwd<{t}>"]),
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"binary_same<{t}, {op}>")),
        .. KernelFamily.PerFloatType(t => KernelFamily.PerOp(3, op => $"binary_bcast<{t}, {op}>"))]);

    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        SameShape("unary", x, y);
        var t = FloatType("unary", x, y);
        Elementwise(Fn(ElementwiseKernels, $"unary_fwd<{t}, {(int)op}>"), x.Numel, Ptr(x), Ptr(y), x.Numel);
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx)
    {
        SameShape("unary backward", x, dy);
        SameShape("unary backward", x, dx);
        var t = FloatType("unary backward", x, dy, dx);
        Elementwise(Fn(ElementwiseKernels, $"unary_bwd<{t}, {(int)op}>"), x.Numel, Ptr(x), Ptr(dy), Ptr(dx), x.Numel);
    }

    public void LeakyReLU(Tensor x, float slope, Tensor y)
    {
        SameShape("leaky relu", x, y);
        var t = FloatType("leaky relu", x, y);
        Elementwise(Fn(ElementwiseKernels, $"leaky_relu_fwd<{t}>"), x.Numel, Ptr(x), Ptr(y), x.Numel, slope);
    }

    public void LeakyReLUBackward(Tensor x, float slope, Tensor dy, Tensor dx)
    {
        SameShape("leaky relu backward", x, dy);
        SameShape("leaky relu backward", x, dx);
        var t = FloatType("leaky relu backward", x, dy, dx);
        Elementwise(Fn(ElementwiseKernels, $"leaky_relu_bwd<{t}>"), x.Numel, Ptr(x), Ptr(dy), Ptr(dx), x.Numel, slope);
    }

    public void Geglu(Tensor x, Tensor y)
    {
        var (rows, half) = GegluShape(x, y);
        var t = FloatType("geglu", x, y);
        Elementwise(Fn(ElementwiseKernels, $"geglu_fwd<{t}>"), rows * half, Ptr(x), Ptr(y), rows, half);
    }

    public void GegluBackward(Tensor x, Tensor dy, Tensor dx)
    {
        var (rows, half) = GegluShape(x, dy);
        SameShape("geglu backward", x, dx);
        var t = FloatType("geglu backward", x, dy, dx);
        Elementwise(Fn(ElementwiseKernels, $"geglu_bwd<{t}>"), rows * half, Ptr(x), Ptr(dy), Ptr(dx), rows, half);
    }

    private static (long Rows, long Half) GegluShape(Tensor x, Tensor y)
    {
        int width = x.Dim(-1);
        if (width % 2 != 0 || y.Dim(-1) != width / 2 || y.Numel * 2 != x.Numel)
            throw new ArgumentException($"geglu: input {x.ShapeString} must have an even last dim and output {y.ShapeString} half of it");
        return (x.Numel / width, width / 2);
    }

    public unsafe void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var t = FloatType("binary", a, b, y);
        long n = y.Numel;
        if (a.Shape.SequenceEqual(y.Shape) && b.Shape.SequenceEqual(y.Shape))
        {
            Elementwise(Fn(ElementwiseKernels, $"binary_same<{t}, {(int)op}>"), n, Ptr(a), Ptr(b), Ptr(y), n);
            return;
        }
        var la = BroadcastLayout(a, y);
        var lb = BroadcastLayout(b, y);
        Elementwise(Fn(ElementwiseKernels, $"binary_bcast<{t}, {(int)op}>"), n, Ptr(a), Ptr(b), Ptr(y), n,
            KernelArg.ByValue(&la), KernelArg.ByValue(&lb));
    }

    /// <summary>Walks y's shape with x's strides, 0 on the dims x broadcasts (numpy rules, right-aligned).</summary>
    private static StridedLayout BroadcastLayout(Tensor x, Tensor y)
    {
        int rank = y.Rank, offset = rank - x.Rank;
        if (offset < 0) throw new ArgumentException($"binary: operand {x.ShapeString} has more dims than the output {y.ShapeString}");
        var xs = Tensor.ContiguousStrides(x.Shape);
        var strides = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            int xd = d - offset;
            if (xd < 0 || x.Dim(xd) == 1) continue;
            if (x.Dim(xd) != y.Dim(d)) throw new ArgumentException($"binary: {x.ShapeString} does not broadcast to {y.ShapeString}");
            strides[d] = xs[xd];
        }
        return StridedLayout.Create(y.Shape, strides);
    }

    public void Affine(Tensor x, float alpha, float beta, Tensor y)
    {
        SameShape("affine", x, y);
        var t = FloatType("affine", x, y);
        Elementwise(Fn(ElementwiseKernels, $"affine<{t}>"), x.Numel, Ptr(x), Ptr(y), x.Numel, alpha, beta);
    }

    public void Sft(Tensor x, Tensor gamma, Tensor beta, Tensor y)
    {
        SameShape("sft", x, gamma);
        SameShape("sft", x, beta);
        SameShape("sft", x, y);
        var t = FloatType("sft", x, gamma, beta, y);
        Elementwise(Fn(ElementwiseKernels, $"sft_fwd<{t}>"), x.Numel, Ptr(x), Ptr(gamma), Ptr(beta), Ptr(y), x.Numel);
    }

    public void SftBackward(Tensor x, Tensor gamma, Tensor dy, Tensor? dx, Tensor? dgamma, Tensor? dbeta)
    {
        if (dx == null && dgamma == null && dbeta == null) return;
        SameShape("sft backward", x, dy);
        var t = FloatType("sft backward", x, gamma, dy, dx, dgamma, dbeta);
        Elementwise(Fn(ElementwiseKernels, $"sft_bwd<{t}>"), x.Numel, Ptr(x), Ptr(gamma), Ptr(dy), Opt(dx), Opt(dgamma), Opt(dbeta), x.Numel);
    }
}
