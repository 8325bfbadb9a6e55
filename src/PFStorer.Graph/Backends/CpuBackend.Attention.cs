namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor? probs, AttentionArgs args) => throw new NotImplementedException("CPU Attention");

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, Tensor? dProbs, Tensor? dq, Tensor? dk, Tensor? dv, AttentionArgs args) => throw new NotImplementedException("CPU Attention");
}
