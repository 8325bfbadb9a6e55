using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    public static Tensor SiLU(Tensor x) => Unary(UnaryOp.SiLU, x);
    public static Tensor ReLU(Tensor x) => Unary(UnaryOp.ReLU, x);
    /// <summary>Exact (erf) GELU.</summary>
    public static Tensor Gelu(Tensor x) => Unary(UnaryOp.Gelu, x);

    /// <summary>LeakyReLU with the given negative slope (ESRGAN's RRDB: 0.2).</summary>
    public static Tensor LeakyReLU(Tensor x, float negativeSlope) =>
        Apply("leaky_relu", [x], x.Shape, (i, y) => y.Backend.LeakyReLU(i[0]!, negativeSlope, y), (dy, kept, _) =>
        {
            var dx = EmptyLike(dy);
            dy.Backend.LeakyReLUBackward(kept[0]!, negativeSlope, dy, dx);
            return [dx];
        });

    private static Tensor Unary(UnaryOp op, Tensor x) =>
        Apply(op.ToString().ToLowerInvariant(), [x], x.Shape, (i, y) => y.Backend.Unary(op, i[0]!, y), (dy, kept, _) =>
        {
            var dx = EmptyLike(dy);
            dy.Backend.UnaryBackward(op, kept[0]!, dy, dx);
            return [dx];
        });

    /// <summary>GEGLU: splits the last dim into value and gate halves, returns value·GELU(gate).</summary>
    public static Tensor Geglu(Tensor x)
    {
        if (x.Dim(-1) % 2 != 0) throw new ArgumentException($"geglu: last dim of {x.ShapeString} is odd");
        var shape = x.ShapeArray();
        shape[^1] /= 2;
        return Apply("geglu", [x], shape, (i, y) => y.Backend.Geglu(i[0]!, y), (dy, kept, _) =>
        {
            var dx = EmptyLike(kept[0]!);
            dy.Backend.GegluBackward(kept[0]!, dy, dx);
            return [dx];
        });
    }

    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    /// <summary>Elementwise product with broadcasting (γ ⊙ F with γ [1,C,1,1] or [C] against [...,C]).</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);

    /// <summary>numpy broadcast shape of two shapes (right-aligned).</summary>
    public static int[] BroadcastShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)];
            int db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes [{string.Join(',', a.ToArray())}] and [{string.Join(',', b.ToArray())}] do not broadcast");
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        var aShape = a.ShapeArray();
        var bShape = b.ShapeArray();
        // Only a product's backward reads the operands: each one's gradient is dy times the other.
        bool mul = op == BinaryOp.Mul;
        return Apply(op.ToString().ToLowerInvariant(), [a, b], BroadcastShape(aShape, bShape), (i, y) => y.Backend.Binary(op, i[0]!, i[1]!, y),
            (dy, kept, needs) => [
                needs[0] ? ReduceGrad(dy, mul ? kept[1] : null, aShape, 1f) : null,
                needs[1] ? ReduceGrad(dy, mul ? kept[0] : null, bShape, op == BinaryOp.Sub ? -1f : 1f) : null],
            keep: [mul && Needs(b), mul && Needs(a)]);
    }

    // Gradient of one operand of a broadcast binary op: sum (dy · other) over the broadcast dims, times sign.
    private static Tensor ReduceGrad(Tensor dy, Tensor? other, int[] shape, float sign)
    {
        var be = dy.Backend;
        Tensor? prod = null;
        if (other != null)
        {
            prod = EmptyLike(dy);
            be.Binary(BinaryOp.Mul, dy, other, prod);
        }
        var src = prod ?? dy;
        var g = Tensor.Empty(shape, DType.F32, dy.Device);
        be.SumToShape(src, g);
        if (sign != 1f) be.Affine(g, sign, 0f, g);
        prod?.Dispose();
        return g;
    }

    /// <summary>y = alpha·x + beta.</summary>
    public static Tensor Affine(Tensor x, float alpha, float beta = 0f) =>
        Apply("affine", [x], x.Shape, (i, y) => y.Backend.Affine(i[0]!, alpha, beta, y), (dy, _, _) =>
        {
            var dx = EmptyLike(dy);
            dy.Backend.Affine(dy, alpha, 0f, dx);
            return [dx];
        }, keep: [false]);

    public static Tensor Scale(Tensor x, float alpha) => Affine(x, alpha);

    /// <summary>SFT / SPADE modulation y = x·(1+γ) + β (same shapes).</summary>
    public static Tensor Sft(Tensor x, Tensor gamma, Tensor beta)
    {
        if (!x.Shape.SequenceEqual(gamma.Shape) || !x.Shape.SequenceEqual(beta.Shape))
            throw new ArgumentException($"sft: shapes {x.ShapeString}, {gamma.ShapeString}, {beta.ShapeString} differ");
        return Apply("sft", [x, gamma, beta], x.Shape, (i, y) => y.Backend.Sft(i[0]!, i[1]!, i[2]!, y), (dy, kept, needs) =>
        {
            var dx = needs[0] ? EmptyLike(dy) : null;
            var dg = needs[1] ? EmptyLike(dy) : null;
            var db = needs[2] ? EmptyLike(dy) : null;
            dy.Backend.SftBackward(kept[0]!, kept[1]!, dy, dx, dg, db);
            return [dx, dg, db];
        }, keep: [true, true, false]);
    }
}
