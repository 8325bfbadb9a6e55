namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step) => throw new NotImplementedException("CPU Optim");
}
