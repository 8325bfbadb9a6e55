using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph;

/// <summary>Attention output and, when requested, the head-averaged probabilities of the selected keys [B, Tq, nKeys].</summary>
public readonly record struct AttentionResult(Tensor Output, Tensor? Probs);

public static partial class F
{
    /// <summary>
    /// Multi-head scaled-dot-product attention on q [B,Tq,H·D], k [B,Tk,H·D], v [B,Tk,H·Dv] (see <see cref="AttentionArgs"/>).
    /// Both outputs are differentiable: a loss on the probabilities (ViCo's L_reg / PFStorer's L_Pers) reaches q and k.
    /// </summary>
    public static AttentionResult Attention(Tensor q, Tensor k, Tensor v, AttentionArgs args)
    {
        CheckSameDevice(q, k, v, args.KeyMask);
        int b = q.Dim(0), tq = q.Dim(1), tk = k.Dim(1);
        if (k.Dim(0) != b || v.Dim(0) != b || v.Dim(1) != tk) throw new ArgumentException($"attention: q {q.ShapeString}, k {k.ShapeString}, v {v.ShapeString} disagree");
        if (q.Dim(2) % args.Heads != 0 || v.Dim(2) % args.Heads != 0 || q.Dim(2) != k.Dim(2))
            throw new ArgumentException($"attention: widths {q.Dim(2)}/{k.Dim(2)}/{v.Dim(2)} do not split into {args.Heads} heads");
        if (args.ProbKeys != null && args.ProbKeys.Length % b != 0) throw new ArgumentException("attention: ProbKeys must hold the same number of keys for every batch entry");
        using var qc = Contig(q);
        using var kc = Contig(k);
        using var vc = Contig(v);
        var o = Tensor.Empty([b, tq, v.Dim(2)], DType.F32, q.Device);
        var lse = Tensor.Empty([b, args.Heads, tq], DType.F32, q.Device);
        int nk = args.ProbKeyCount(b);
        var probs = nk > 0 ? Tensor.Empty([b, tq, nk], DType.F32, q.Device) : null;
        q.Backend.Attention(qc, kc, vc, o, lse, probs, args);

        if (Tape.ShouldRecord([q, k, v]))
        {
            var qs = qc.Share();
            var ks = kc.Share();
            var vs = vc.Share();
            var os = o.Share();
            // The mask is the caller's: backward needs its own handle on it (a closure over the caller's would read freed memory).
            var saved = args with { KeyMask = args.KeyMask?.Share() };
            bool nq = Needs(q), nkGrad = Needs(k), nv = Needs(v);
            Tape.Record("attention", [q, k, v], probs == null ? [o] : [o, probs], g =>
            {
                using var dO = g[0] != null ? Contig(g[0]!) : Tensor.Zeros(os.Shape, DType.F32, os.Device);
                using var dP = g.Length > 1 && g[1] != null ? Contig(g[1]!) : null;
                var dq = nq ? EmptyLike(qs) : null;
                var dk = nkGrad ? EmptyLike(ks) : null;
                var dv = nv ? EmptyLike(vs) : null;
                qs.Backend.AttentionBackward(qs, ks, vs, os, lse, dO, dP, dq, dk, dv, saved);
                return [dq, dk, dv];
            }, saved.KeyMask is { } mask ? [qs, ks, vs, os, lse, mask] : [qs, ks, vs, os, lse]);
        }
        else lse.Dispose();
        return new AttentionResult(o, probs);
    }
}
