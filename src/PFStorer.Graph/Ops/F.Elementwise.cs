using PFStorer.Graph.Autograd;
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
    public static Tensor LeakyReLU(Tensor x, float negativeSlope)
    {
        using var xc = Contig(x);
        var y = EmptyLike(x);
        x.Backend.LeakyReLU(xc, negativeSlope, y);
        if (Tape.ShouldRecord([x]))
        {
            var xs = xc.Share();
            Tape.Record("leaky_relu", [x], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = EmptyLike(xs);
                dy.Backend.LeakyReLUBackward(xs, negativeSlope, dy, dx);
                return [dx];
            }, xs);
        }
        return y;
    }

    private static Tensor Unary(UnaryOp op, Tensor x)
    {
        using var xc = Contig(x);
        var y = EmptyLike(x);
        x.Backend.Unary(op, xc, y);
        if (Tape.ShouldRecord([x]))
        {
            var xs = xc.Share();
            Tape.Record(op.ToString().ToLowerInvariant(), [x], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = EmptyLike(xs);
                dy.Backend.UnaryBackward(op, xs, dy, dx);
                return [dx];
            }, xs);
        }
        return y;
    }

    /// <summary>GEGLU: splits the last dim into value and gate halves, returns value·GELU(gate).</summary>
    public static Tensor Geglu(Tensor x)
    {
        if (x.Dim(-1) % 2 != 0) throw new ArgumentException($"geglu: last dim of {x.ShapeString} is odd");
        using var xc = Contig(x);
        var shape = x.ShapeArray();
        shape[^1] /= 2;
        var y = Tensor.Empty(shape, DType.F32, x.Device);
        x.Backend.Geglu(xc, y);
        if (Tape.ShouldRecord([x]))
        {
            var xs = xc.Share();
            Tape.Record("geglu", [x], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = EmptyLike(xs);
                dy.Backend.GegluBackward(xs, dy, dx);
                return [dx];
            }, xs);
        }
        return y;
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
        CheckSameDevice(a, b);
        using var ac = Contig(a);
        using var bc = Contig(b);
        var y = Tensor.Empty(BroadcastShape(a.Shape, b.Shape), DType.F32, a.Device);
        a.Backend.Binary(op, ac, bc, y);
        if (Tape.ShouldRecord([a, b]))
        {
            bool na = Needs(a), nb = Needs(b);
            var aS = op == BinaryOp.Mul && nb ? ac.Share() : null;
            var bS = op == BinaryOp.Mul && na ? bc.Share() : null;
            var aShape = a.ShapeArray();
            var bShape = b.ShapeArray();
            Tape.Record(op.ToString().ToLowerInvariant(), [a, b], [y], g =>
            {
                using var dy = Contig(g[0]!);
                Tensor? da = null, db = null;
                if (na) da = ReduceGrad(dy, op == BinaryOp.Mul ? bS : null, aShape, 1f);
                if (nb) db = ReduceGrad(dy, op == BinaryOp.Mul ? aS : null, bShape, op == BinaryOp.Sub ? -1f : 1f);
                return [da, db];
            }, NonNull(aS, bS));
        }
        return y;
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
    public static Tensor Affine(Tensor x, float alpha, float beta = 0f)
    {
        using var xc = Contig(x);
        var y = EmptyLike(x);
        x.Backend.Affine(xc, alpha, beta, y);
        if (Tape.ShouldRecord([x]))
            Tape.Record("affine", [x], [y], g =>
            {
                var dx = EmptyLike(g[0]!);
                using var dy = Contig(g[0]!);
                dy.Backend.Affine(dy, alpha, 0f, dx);
                return [dx];
            });
        return y;
    }

    public static Tensor Scale(Tensor x, float alpha) => Affine(x, alpha);

    /// <summary>SFT / SPADE modulation y = x·(1+γ) + β (same shapes).</summary>
    public static Tensor Sft(Tensor x, Tensor gamma, Tensor beta)
    {
        CheckSameDevice(x, gamma, beta);
        if (!x.Shape.SequenceEqual(gamma.Shape) || !x.Shape.SequenceEqual(beta.Shape))
            throw new ArgumentException($"sft: shapes {x.ShapeString}, {gamma.ShapeString}, {beta.ShapeString} differ");
        using var xc = Contig(x);
        using var gc = Contig(gamma);
        using var bc = Contig(beta);
        var y = EmptyLike(x);
        x.Backend.Sft(xc, gc, bc, y);
        if (Tape.ShouldRecord([x, gamma, beta]))
        {
            var xs = xc.Share();
            var gs = gc.Share();
            bool nx = Needs(x), ng = Needs(gamma), nb = Needs(beta);
            Tape.Record("sft", [x, gamma, beta], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = nx ? EmptyLike(xs) : null;
                var dg = ng ? EmptyLike(xs) : null;
                var db = nb ? EmptyLike(xs) : null;
                dy.Backend.SftBackward(xs, gs, dy, dx, dg, db);
                return [dx, dg, db];
            }, xs, gs);
        }
        return y;
    }
}
