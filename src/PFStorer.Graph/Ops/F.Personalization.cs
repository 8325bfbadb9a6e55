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

    /// <summary>
    /// y = f + γ ⊙ MHA(q, k, v) under the key mask (docs/personalization.md, "Fused cross-attention"): the generated
    /// stream's queries q [B,Tq,H·D] attend to the reference stream's keys and values k, v [B,Tk,H·D], keys masked where
    /// keyMask [B,Tk] is 0 (the mask carries no gradient); f [B,Tq,H·D], γ [H·D]. One fused kernel on CUDA.
    /// </summary>
    public static Tensor PersonalizedAttention(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor f, Tensor gamma, int heads, float scale)
    {
        CheckSameDevice(q, k, v, keyMask, f, gamma);
        if (!q.Shape.SequenceEqual(f.Shape)) throw new ArgumentException($"personalized attention: q {q.ShapeString} and f {f.ShapeString} differ");
        using var qc = Contig(q);
        using var kc = Contig(k);
        using var vc = Contig(v);
        using var mc = Contig(keyMask);
        using var fc = Contig(f);
        using var gc = Contig(gamma);
        var y = EmptyLike(f);
        bool record = Tape.ShouldRecord([q, k, v, f, gamma]);
        var o = record ? EmptyLike(f) : null;
        var lse = Tensor.Empty([q.Dim(0), heads, q.Dim(1)], DType.F32, q.Device);
        q.Backend.PersonalizedAttention(qc, kc, vc, mc, fc, gc, y, o, lse, heads, scale);
        if (!record)
        {
            lse.Dispose();
            return y;
        }
        Tensor[] saved = [qc.Share(), kc.Share(), vc.Share(), mc.Share(), gc.Share(), o!, lse];
        bool nq = Needs(q), nk = Needs(k), nv = Needs(v), nf = Needs(f), ng = Needs(gamma);
        Tape.Record("personalized_attention", [q, k, v, f, gamma], [y], g =>
        {
            using var dy = Contig(g[0]!);
            var dq = nq ? EmptyLike(saved[0]) : null;
            var dk = nk ? EmptyLike(saved[1]) : null;
            var dv = nv ? EmptyLike(saved[2]) : null;
            var dgamma = ng ? EmptyLike(saved[4]) : null;
            dy.Backend.PersonalizedAttentionBackward(saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], dy, dq, dk, dv, dgamma, heads, scale);
            return [dq, dk, dv, nf ? dy.Share() : null, dgamma];
        }, saved);
        return y;
    }
}
