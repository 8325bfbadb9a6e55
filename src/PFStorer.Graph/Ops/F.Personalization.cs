using PFStorer.Graph.Autograd;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>
    /// y = f + γ ⊙ (p + bias) over the last dimension (docs/personalization.md, "γ epilogue"). γ = 0 returns f bit for
    /// bit; gradients: df = dy, dp = γ ⊙ dy, dbias = Σ_rows γ ⊙ dy, dγ = Σ_rows dy ⊙ (p + bias).
    /// </summary>
    public static Tensor PersonalizeResidual(Tensor f, Tensor p, Tensor? bias, Tensor gamma)
    {
        if (!f.Shape.SequenceEqual(p.Shape)) throw new ArgumentException($"personalize: f {f.ShapeString} and p {p.ShapeString} differ");
        int c = f.Dim(-1);
        return Apply("personalize", [f, p, bias, gamma], f.Shape, (i, y) => y.Backend.PersonalizeResidual(i[0]!, i[1]!, i[2], i[3]!, y), (dy, kept, needs) =>
        {
            bool nf = needs[0], np = needs[1], nb = needs[2], ng = needs[3];
            var df = nf ? dy.Share() : null;
            var dp = np || nb ? EmptyLike(dy) : null;
            var dgamma = ng ? Tensor.Empty([c], DType.F32, dy.Device) : null;
            dy.Backend.PersonalizeResidualBackward(kept[1]!, kept[2], kept[3]!, dy, dp, dgamma);
            Tensor? dbias = null;
            if (nb)
            {
                dbias = Tensor.Empty([c], DType.F32, dy.Device);
                using var rows = dp!.View(-1, c);
                dy.Backend.SumToShape(rows, dbias);
            }
            if (!np) { dp?.Dispose(); dp = null; }
            return [df, dp, dbias, dgamma];
        }, keep: [false, true, true, true]);
    }

    /// <summary>
    /// L_Pers of one placement as a scalar: mean over [rows, n] of (a/max a − e/max e)², max per row. e (the end-of-text
    /// map) is a stop-gradient: only a receives a gradient.
    /// </summary>
    public static Tensor AttentionMapLoss(Tensor a, Tensor e)
    {
        CheckSameDevice(a, e);
        if (!a.Shape.SequenceEqual(e.Shape)) throw new ArgumentException($"attention-map loss: {a.ShapeString} and {e.ShapeString} differ");
        using var ac = Contig(a);
        using var ec = Contig(e);
        var loss = Tensor.Empty([], DType.F32, a.Device);
        a.Backend.AttentionMapLoss(ac, ec, loss);
        if (Tape.ShouldRecord([a]))
        {
            var aS = ac.Share();
            var eS = ec.Share();
            Tape.Record("attention_map_loss", [a], [loss], g =>
            {
                using var dl = Contig(g[0]!);
                var da = EmptyLike(aS);
                dl.Backend.AttentionMapLossBackward(aS, eS, dl, da);
                return [da];
            }, aS, eS);
        }
        return loss;
    }
}
