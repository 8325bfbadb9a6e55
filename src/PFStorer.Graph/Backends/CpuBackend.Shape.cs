namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor y) => throw new NotImplementedException("CPU Shape");

    public void Upsample2x(Tensor x, Tensor y) => throw new NotImplementedException("CPU Shape");

    public void Upsample2xBackward(Tensor dy, Tensor dx) => throw new NotImplementedException("CPU Shape");

    public void Reduce(ReduceOp op, Tensor x, int dim, Tensor y, Tensor? argIndex) => throw new NotImplementedException("CPU Shape");

    public void ReduceBackward(ReduceOp op, Tensor dy, Tensor? argIndex, int dim, Tensor dx) => throw new NotImplementedException("CPU Shape");
}
