using PFStorer.Graph.Autograd;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>GroupNorm (x [B,C,*]) with optional affine and an optional fused SiLU after it.</summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, float eps, bool silu = false)
    {
        CheckSameDevice(x, weight, bias);
        if (x.Dim(1) % groups != 0) throw new ArgumentException($"group norm: {x.Dim(1)} channels are not divisible by {groups} groups");
        using var xc = Contig(x);
        var y = EmptyLike(x);
        var mean = Tensor.Empty([x.Dim(0) * groups], DType.F32, x.Device);
        var rstd = Tensor.Empty([x.Dim(0) * groups], DType.F32, x.Device);
        x.Backend.GroupNorm(xc, weight, bias, y, mean, rstd, groups, eps, silu);

        if (Tape.ShouldRecord([x, weight, bias]))
        {
            var xs = xc.Share();
            var ws = weight?.Share();
            var bs = bias?.Share();
            bool nx = Needs(x), nw = Needs(weight), nb = Needs(bias);
            Tape.Record("group_norm", [x, weight, bias], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = nx ? EmptyLike(xs) : null;
                var dw = nw ? EmptyLike(ws!) : null;
                var db = nb ? EmptyLike(bs!) : null;
                dy.Backend.GroupNormBackward(xs, ws, bs, mean, rstd, dy, dx, dw, db, groups, silu);
                return [dx, dw, db];
            }, NonNull(xs, mean, rstd, ws, bs));
        }
        else
        {
            mean.Dispose();
            rstd.Dispose();
        }
        return y;
    }

    /// <summary>LayerNorm over the last dimension.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps)
    {
        CheckSameDevice(x, weight, bias);
        using var xc = Contig(x);
        var y = EmptyLike(x);
        int rows = (int)(x.Numel / x.Dim(-1));
        var mean = Tensor.Empty([rows], DType.F32, x.Device);
        var rstd = Tensor.Empty([rows], DType.F32, x.Device);
        x.Backend.LayerNorm(xc, weight, bias, y, mean, rstd, eps);

        if (Tape.ShouldRecord([x, weight, bias]))
        {
            var xs = xc.Share();
            var ws = weight?.Share();
            bool nx = Needs(x), nw = Needs(weight), nb = Needs(bias);
            int c = x.Dim(-1);
            Tape.Record("layer_norm", [x, weight, bias], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dx = nx ? EmptyLike(xs) : null;
                var dw = nw ? Tensor.Empty([c], DType.F32, dy.Device) : null;
                var db = nb ? Tensor.Empty([c], DType.F32, dy.Device) : null;
                dy.Backend.LayerNormBackward(xs, ws, mean, rstd, dy, dx, dw, db);
                return [dx, dw, db];
            }, NonNull(xs, mean, rstd, ws));
        }
        else
        {
            mean.Dispose();
            rstd.Dispose();
        }
        return y;
    }
}
