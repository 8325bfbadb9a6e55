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
}
