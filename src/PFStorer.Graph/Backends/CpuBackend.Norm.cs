namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void GroupNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, int groups, float eps, bool silu) => throw new NotImplementedException("CPU Norm");

    public void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, int groups, bool silu) => throw new NotImplementedException("CPU Norm");

    public void LayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, float eps) => throw new NotImplementedException("CPU Norm");

    public void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias) => throw new NotImplementedException("CPU Norm");

    public void Sft(Tensor x, Tensor gamma, Tensor beta, Tensor y) => throw new NotImplementedException("CPU Norm");

    public void SftBackward(Tensor x, Tensor gamma, Tensor dy, Tensor? dx, Tensor? dgamma, Tensor? dbeta) => throw new NotImplementedException("CPU Norm");
}
