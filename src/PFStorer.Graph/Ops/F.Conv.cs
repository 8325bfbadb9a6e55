using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Conv2d with PyTorch semantics: x [B,C,H,W], w [O,C,k,k], bias [O]; square kernel, symmetric padding.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0)
    {
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"conv2d: x {x.ShapeString}, w {w.ShapeString} must be 4-D");
        if (w.Dim(1) != x.Dim(1)) throw new ArgumentException($"conv2d: input channels {x.Dim(1)} ≠ weight {w.ShapeString}");
        int k = w.Dim(2);
        int ho = (x.Dim(2) + 2 * padding - k) / stride + 1, wo = (x.Dim(3) + 2 * padding - w.Dim(3)) / stride + 1;
        return Apply("conv2d", [x, w, bias], [x.Dim(0), w.Dim(0), ho, wo], (i, y) => y.Backend.Conv2d(i[0]!, i[1]!, i[2], y, stride, padding),
            (dy, kept, needs) =>
            {
                var dx = needs[0] ? EmptyLike(kept[0]!) : null;
                var dw = needs[1] ? EmptyLike(kept[1]!) : null;
                var db = needs[2] ? Tensor.Empty([kept[1]!.Dim(0)], DType.F32, dy.Device) : null;
                dy.Backend.Conv2dBackward(kept[0]!, kept[1]!, dy, dx, dw, db, stride, padding);
                return [dx, dw, db];
            }, keep: [true, true, false]);
    }
}
