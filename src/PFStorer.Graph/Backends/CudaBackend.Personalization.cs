using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily PersonalizationKernels = new("personalization", [.. KernelFamily.PerFloatType(t =>
        [$"personalize_fwd<{t}>", $"personalize_bwd_proj<{t}>", $"personalize_bwd_gamma<{t}>", $"map_loss_fwd<{t}>", $"map_loss_bwd<{t}>"])]);

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
            _gpu.Launch(Fn(PersonalizationKernels, $"personalize_bwd_gamma<{t}>"), (c + 31) / 32, new Dim3(32, 8), 0,
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
}
