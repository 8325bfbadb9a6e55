using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void PersonalizeResidual(Tensor f, Tensor p, Tensor? bias, Tensor gamma, Tensor y) =>
        PersonalizationCpu.Residual(F32(f), F32(p), F32OrEmpty(bias), F32(gamma), F32(y), f.Dim(-1));

    public void PersonalizeResidualBackward(Tensor p, Tensor? bias, Tensor gamma, Tensor dy, Tensor? dp, Tensor? dgamma) =>
        PersonalizationCpu.ResidualBackward(F32(p), F32OrEmpty(bias), F32(gamma), F32(dy), F32OrEmpty(dp), F32OrEmpty(dgamma), p.Dim(-1));

    public void AttentionMapLoss(Tensor a, Tensor e, Tensor loss) => F32(loss)[0] = PersonalizationCpu.MapLoss(F32(a), F32(e), a.Dim(-1));

    public void AttentionMapLossBackward(Tensor a, Tensor e, Tensor dLoss, Tensor da) =>
        PersonalizationCpu.MapLossBackward(F32(a), F32(e), F32(dLoss)[0], F32(da), a.Dim(-1));

    // The CPU twin composes the reference attention with the γ epilogue: the CUDA kernels fuse exactly these two steps.
    public void PersonalizedAttention(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor f, Tensor gamma, Tensor y, Tensor? o, Tensor lse, int heads, float scale)
    {
        using var attended = o?.Share() ?? Tensor.Empty(f.Shape, DType.F32, f.Device);
        Attention(q, k, v, attended, lse, null, new AttentionArgs(heads, scale, keyMask));
        PersonalizeResidual(f, attended, null, gamma, y);
    }

    public void PersonalizedAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor gamma, Tensor o, Tensor lse, Tensor dy,
        Tensor? dq, Tensor? dk, Tensor? dv, Tensor? dgamma, int heads, float scale)
    {
        bool attention = dq != null || dk != null || dv != null;
        using var dO = attention ? Tensor.Empty(dy.Shape, DType.F32, dy.Device) : null;
        PersonalizeResidualBackward(o, null, gamma, dy, dO, dgamma);
        if (attention) AttentionBackward(q, k, v, o, lse, dO!, null, dq, dk, dv, new AttentionArgs(heads, scale, keyMask));
    }
}
