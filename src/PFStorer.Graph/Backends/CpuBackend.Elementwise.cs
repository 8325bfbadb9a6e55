namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx) => throw new NotImplementedException("CPU Elementwise");

    public void Geglu(Tensor x, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void GegluBackward(Tensor x, Tensor dy, Tensor dx) => throw new NotImplementedException("CPU Elementwise");

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void Affine(Tensor x, float alpha, float beta, Tensor y) => throw new NotImplementedException("CPU Elementwise");
}
