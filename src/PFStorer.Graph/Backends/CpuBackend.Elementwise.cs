using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        switch (op)
        {
            case UnaryOp.SiLU: ActivationCpu.SiLU(F32(x), F32(y)); break;
            case UnaryOp.ReLU: ActivationCpu.ReLU(F32(x), F32(y)); break;
            case UnaryOp.Gelu: ActivationCpu.Gelu(F32(x), F32(y)); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx)
    {
        switch (op)
        {
            case UnaryOp.SiLU: ActivationCpu.SiLUBackward(F32(x), F32(dy), F32(dx)); break;
            case UnaryOp.ReLU: ActivationCpu.ReLUBackward(F32(x), F32(dy), F32(dx)); break;
            case UnaryOp.Gelu: ActivationCpu.GeluBackward(F32(x), F32(dy), F32(dx)); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    public void Geglu(Tensor x, Tensor y) => ActivationCpu.Geglu(F32(x), F32(y), x.Dim(-1) / 2);

    public void GegluBackward(Tensor x, Tensor dy, Tensor dx) => ActivationCpu.GegluBackward(F32(x), F32(dy), F32(dx), x.Dim(-1) / 2);

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var kind = op switch
        {
            BinaryOp.Add => ElementwiseCpu.BinaryKind.Add,
            BinaryOp.Sub => ElementwiseCpu.BinaryKind.Sub,
            BinaryOp.Mul => ElementwiseCpu.BinaryKind.Mul,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
        };
        ElementwiseCpu.Binary(kind, F32(a), a.Shape, F32(b), b.Shape, F32(y), y.Shape);
    }

    public void Affine(Tensor x, float alpha, float beta, Tensor y) => ElementwiseCpu.Affine(F32(x), alpha, beta, F32(y));

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

    public void Sft(Tensor x, Tensor gamma, Tensor beta, Tensor y) => SftCpu.Forward(F32(x), F32(gamma), F32(beta), F32(y));

    public void SftBackward(Tensor x, Tensor gamma, Tensor dy, Tensor? dx, Tensor? dgamma, Tensor? dbeta) =>
        SftCpu.Backward(F32(x), F32(gamma), F32(dy), F32OrEmpty(dx), F32OrEmpty(dgamma), F32OrEmpty(dbeta));
}
