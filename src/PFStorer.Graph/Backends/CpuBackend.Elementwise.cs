namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx) => throw new NotImplementedException("CPU Elementwise");

    public void Geglu(Tensor x, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void GegluBackward(Tensor x, Tensor dy, Tensor dx) => throw new NotImplementedException("CPU Elementwise");

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void Affine(Tensor x, float alpha, float beta, Tensor y) => throw new NotImplementedException("CPU Elementwise");

    public void LeakyReLU(Tensor x, float slope, Tensor y)
    {
        var xs = F32(x);
        var ys = F32(y);
        for (int i = 0; i < xs.Length; i++) ys[i] = xs[i] >= 0f ? xs[i] : slope * xs[i];
    }

    public void LeakyReLUBackward(Tensor x, float slope, Tensor dy, Tensor dx)
    {
        var xs = F32(x);
        var dys = F32(dy);
        var dxs = F32(dx);
        for (int i = 0; i < xs.Length; i++) dxs[i] = xs[i] >= 0f ? dys[i] : slope * dys[i];
    }
}
