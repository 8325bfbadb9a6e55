namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, float alpha, float beta, Tensor? bias) => throw new NotImplementedException("CPU Linear");

    public void SumToShape(Tensor source, Tensor destination) => throw new NotImplementedException("CPU Linear");
}
