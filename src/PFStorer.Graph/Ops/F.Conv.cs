using PFStorer.Graph.Autograd;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Conv2d with PyTorch semantics: x [B,C,H,W], w [O,C,k,k], bias [O]; square kernel, symmetric padding.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0)
    {
        CheckSameDevice(x, w, bias);
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"conv2d: x {x.ShapeString}, w {w.ShapeString} must be 4-D");
        if (w.Dim(1) != x.Dim(1)) throw new ArgumentException($"conv2d: input channels {x.Dim(1)} ≠ weight {w.ShapeString}");
        int k = w.Dim(2);
        int ho = (x.Dim(2) + 2 * padding - k) / stride + 1, wo = (x.Dim(3) + 2 * padding - w.Dim(3)) / stride + 1;
        using var xc = Contig(x);
        var y = Tensor.Empty([x.Dim(0), w.Dim(0), ho, wo], DType.F32, x.Device);
        x.Backend.Conv2d(xc, w, bias, y, stride, padding);

        if (Tape.ShouldRecord([x, w, bias]))
        {
            var xs = xc.Share();
            var ws = w.Share();
            bool nx = Needs(x), nw = Needs(w), nb = Needs(bias);
            Tape.Record("conv2d", [x, w, bias], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = nx ? EmptyLike(xs) : null;
                var dw = nw ? EmptyLike(ws) : null;
                var db = nb ? Tensor.Empty([ws.Dim(0)], DType.F32, dy.Device) : null;
                dy.Backend.Conv2dBackward(xs, ws, dy, dx, dw, db, stride, padding);
                return [dx, dw, db];
            }, xs, ws);
        }
        return y;
    }
}
