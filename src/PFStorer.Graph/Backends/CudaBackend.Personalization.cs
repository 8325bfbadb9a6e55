using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily PersonalizationKernels = new("personalization", [
        .. KernelFamily.PerFloatType(t => [$"personalize_fwd<{t}>", $"personalize_bwd_proj<{t}>", $"personalize_bwd_gamma<{t}>",
            $"map_loss_fwd<{t}>", $"map_loss_bwd<{t}>", $"pers_attn_bwd_delta<{t}>"]),
        .. KernelFamily.PerFloatType(t => AttentionLanes.ToArray().SelectMany(n => new[] { $"pers_attn_fwd<{t}, {n}>", $"pers_attn_bwd_dq<{t}, {n}>", $"pers_attn_bwd_dkdv<{t}, {n}>" }))]);

    public void PersonalizeResidual(Tensor f, Tensor p, Tensor? bias, Tensor gamma, Tensor y)
    {
        SameShape("personalize", f, p);
        SameShape("personalize", f, y);
        int c = f.Dim(-1);
        if (gamma.Numel != c || (bias != null && bias.Numel != c)) throw new ArgumentException($"personalize: γ/bias must have {c} entries");
        var t = FloatType("personalize", f, p, bias, gamma, y);
        Elementwise(Fn(PersonalizationKernels, $"personalize_fwd<{t}>"), f.Numel, Ptr(f), Ptr(p), Opt(bias), Ptr(gamma), Ptr(y), f.Numel / c, c);
    }

    public void PersonalizeResidualBackward(Tensor p, Tensor? bias, Tensor gamma, Tensor dy, Tensor? dp, Tensor? dgamma)
    {
        SameShape("personalize backward", p, dy);
        int c = p.Dim(-1);
        long rows = p.Numel / c;
        var t = FloatType("personalize backward", p, bias, gamma, dy, dp, dgamma);
        if (dp != null) Elementwise(Fn(PersonalizationKernels, $"personalize_bwd_proj<{t}>"), p.Numel, Ptr(gamma), Ptr(dy), Ptr(dp), rows, c);
        if (dgamma != null)
            _gpu.Launch(Fn(PersonalizationKernels, $"personalize_bwd_gamma<{t}>"), (c + 31) / 32, new Kernels.Cuda.Dim3(32, 8), 0,
                Ptr(p), Opt(bias), Ptr(dy), Ptr(dgamma), rows, c);
    }

    // One block of MapLossBlock threads walks every row: the maps are [rows ≤ 4, n ≤ 4096], far too small to split.
    private const int MapLossBlock = 256;

    public void AttentionMapLoss(Tensor a, Tensor e, Tensor loss)
    {
        SameShape("attention-map loss", a, e);
        RequireF32("attention-map loss", "loss", loss);
        int n = a.Dim(-1);
        var t = FloatType("attention-map loss", a, e);
        _gpu.Launch(Fn(PersonalizationKernels, $"map_loss_fwd<{t}>"), 1, MapLossBlock, 0, Ptr(a), Ptr(e), Ptr(loss), a.Numel / n, n);
    }

    public void AttentionMapLossBackward(Tensor a, Tensor e, Tensor dLoss, Tensor da)
    {
        SameShape("attention-map loss backward", a, e);
        SameShape("attention-map loss backward", a, da);
        RequireF32("attention-map loss backward", "dLoss", dLoss);
        int n = a.Dim(-1);
        var t = FloatType("attention-map loss backward", a, e, da);
        _gpu.Launch(Fn(PersonalizationKernels, $"map_loss_bwd<{t}>"), (int)(a.Numel / n), MapLossBlock, 0, Ptr(a), Ptr(e), Ptr(dLoss), Ptr(da), a.Numel / n, n);
    }

    // Must match personalization.cu: warps per block of the personalized-attention kernels.
    private const int PersonalizedWarps = 8;

    private AttentionShape PersonalizedShape(string what, Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor gamma, int heads)
    {
        var s = GetAttentionShape(q, k, v, new AttentionArgs(heads, 1f));
        if (s.D != s.Dv) throw new ArgumentException($"{what}: q {q.ShapeString} and v {v.ShapeString} differ in width");
        if (gamma.Numel != q.Dim(2)) throw new ArgumentException($"{what}: γ {gamma.ShapeString} does not have {q.Dim(2)} entries");
        RequireF32(what, "key mask", keyMask);
        if (keyMask.Numel != (long)s.B * s.Tk) throw new ArgumentException($"{what}: key mask {keyMask.ShapeString} is not [{s.B},{s.Tk}]");
        return s;
    }

    private static Dim3 PersonalizedGrid(AttentionShape s, int rows) => new((uint)((rows + PersonalizedWarps - 1) / PersonalizedWarps), (uint)s.H, (uint)s.B);

    public void PersonalizedAttention(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor f, Tensor gamma, Tensor y, Tensor? o, Tensor lse, int heads, float scale)
    {
        var s = PersonalizedShape("personalized attention", q, k, v, keyMask, gamma, heads);
        SameShape("personalized attention", q, f);
        SameShape("personalized attention", q, y);
        if (o != null) SameShape("personalized attention", q, o);
        RequireF32("personalized attention", "lse", lse);
        if (lse.Numel != (long)s.B * s.H * s.Tq) throw new ArgumentException($"personalized attention: lse {lse.ShapeString} is not [{s.B},{s.H},{s.Tq}]");
        var t = FloatType("personalized attention", q, k, v, f, gamma, y, o);
        _gpu.Launch(Fn(PersonalizationKernels, $"pers_attn_fwd<{t}, {s.Lanes}>"), PersonalizedGrid(s, s.Tq), PersonalizedWarps * 32, 0,
            Ptr(q), Ptr(k), Ptr(v), Ptr(keyMask), Ptr(f), Ptr(gamma), Ptr(y), Opt(o), Ptr(lse), s.H, s.Tq, s.Tk, s.D, scale);
    }

    public void PersonalizedAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor gamma, Tensor o, Tensor lse, Tensor dy,
        Tensor? dq, Tensor? dk, Tensor? dv, Tensor? dgamma, int heads, float scale)
    {
        var s = PersonalizedShape("personalized attention backward", q, k, v, keyMask, gamma, heads);
        SameShape("personalized attention backward", q, o);
        SameShape("personalized attention backward", q, dy);
        var t = FloatType("personalized attention backward", q, k, v, gamma, o, dy, dq, dk, dv, dgamma);
        if (dgamma != null) PersonalizeResidualBackward(o, null, gamma, dy, null, dgamma);
        if (dq == null && dk == null && dv == null) return;
        using var delta = Tensor.Empty([s.B, s.H, s.Tq], DType.F32, Device);
        _gpu.Launch(Fn(PersonalizationKernels, $"pers_attn_bwd_delta<{t}>"), PersonalizedGrid(s, s.Tq), PersonalizedWarps * 32, 0,
            Ptr(o), Ptr(dy), Ptr(gamma), Ptr(delta), s.H, s.Tq, s.D);
        if (dq != null)
            _gpu.Launch(Fn(PersonalizationKernels, $"pers_attn_bwd_dq<{t}, {s.Lanes}>"), PersonalizedGrid(s, s.Tq), PersonalizedWarps * 32, 0,
                Ptr(q), Ptr(k), Ptr(v), Ptr(keyMask), Ptr(gamma), Ptr(dy), Ptr(lse), Ptr(delta), Ptr(dq), s.H, s.Tq, s.Tk, s.D, scale);
        if (dk != null || dv != null)
            _gpu.Launch(Fn(PersonalizationKernels, $"pers_attn_bwd_dkdv<{t}, {s.Lanes}>"), PersonalizedGrid(s, s.Tk), PersonalizedWarps * 32, 0,
                Ptr(q), Ptr(k), Ptr(v), Ptr(keyMask), Ptr(gamma), Ptr(dy), Ptr(lse), Ptr(delta), Opt(dk), Opt(dv), s.H, s.Tq, s.Tk, s.D, scale);
    }
}
