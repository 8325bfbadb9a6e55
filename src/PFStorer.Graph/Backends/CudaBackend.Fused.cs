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
}
