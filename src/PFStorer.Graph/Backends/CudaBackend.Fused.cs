namespace PFStorer.Graph.Backends;

/// <summary>
/// Fused kernels with no <see cref="IBackend"/> counterpart yet: the model code can call them when it runs on CUDA,
/// the benchmarks measure them, and each replaces several generic ops (named in its summary).
/// </summary>
public sealed partial class CudaBackend
{
    /// <summary>
    /// GroupNorm followed by StableSR's SFT modulation n·(1+γ)+β (γ, β of x's shape) in one pass: replaces GroupNorm + Sft.
    /// </summary>
    public void GroupNormSft(Tensor x, Tensor? weight, Tensor? bias, Tensor gamma, Tensor beta, Tensor y, Tensor mean, Tensor rstd, int groups, float eps)
    {
        SameShape("groupnorm+sft", x, gamma);
        SameShape("groupnorm+sft", x, beta);
        GroupNormCore(x, weight, bias, gamma, beta, y, mean, rstd, groups, eps, silu: false);
    }

    /// <summary>
    /// PFStorer's gated residual y = f + γ ⊙ (p + bias) over rows of C channels (p: the personalization block's
    /// output-projection GEMM, γ [C]): the projection's epilogue, replacing a bias add, a broadcast multiply and an add.
    /// </summary>
    public void PersonalizeResidual(Tensor f, Tensor p, Tensor? bias, Tensor gamma, Tensor y)
    {
        SameShape("personalize", f, p);
        SameShape("personalize", f, y);
        int c = f.Dim(-1);
        if (gamma.Numel != c || (bias != null && bias.Numel != c)) throw new ArgumentException($"personalize: γ/bias must have {c} entries");
        var t = FloatType("personalize", f, p, bias, gamma, y);
        Elementwise(Fn("personalization", $"personalize_fwd<{t}>"), f.Numel, Ptr(f), Ptr(p), Opt(bias), Ptr(gamma), Ptr(y), f.Numel / c, c);
    }

    /// <summary>Gradients of <see cref="PersonalizeResidual"/>: dp = γ ⊙ dy and dγ = Σ_rows dy ⊙ (p + bias) (df = dy needs no work).</summary>
    public void PersonalizeResidualBackward(Tensor p, Tensor? bias, Tensor gamma, Tensor dy, Tensor? dp, Tensor? dgamma)
    {
        SameShape("personalize backward", p, dy);
        int c = p.Dim(-1);
        long rows = p.Numel / c;
        var t = FloatType("personalize backward", p, bias, gamma, dy, dp, dgamma);
        if (dp != null) Elementwise(Fn("personalization", $"personalize_bwd_proj<{t}>"), p.Numel, Ptr(gamma), Ptr(dy), Ptr(dp), rows, c);
        if (dgamma != null)
            _gpu.Launch(Fn("personalization", $"personalize_bwd_gamma<{t}>"), (c + 31) / 32, new Kernels.Cuda.Dim3(32, 8), 0,
                Ptr(p), Opt(bias), Ptr(dy), Ptr(dgamma), rows, c);
    }
}
