namespace PFStorer.Graph.Backends;

public enum UnaryOp : byte { SiLU, ReLU, Gelu }   // Gelu is the exact erf form
public enum BinaryOp : byte { Add, Sub, Mul }

public partial interface IBackend
{
    void Unary(UnaryOp op, Tensor x, Tensor y);
    void UnaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx);

    /// <summary>GEGLU: x [..., 2N] split into value (first N) and gate (last N); y = value·GELU(gate).</summary>
    void Geglu(Tensor x, Tensor y);
    void GegluBackward(Tensor x, Tensor dy, Tensor dx);

    /// <summary>y = a op b with numpy broadcasting (right-aligned); y has the broadcast shape. y may alias a (in-place).</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);

    /// <summary>y = alpha·x + beta (y may alias x).</summary>
    void Affine(Tensor x, float alpha, float beta, Tensor y);

    /// <summary>LeakyReLU y = x ≥ 0 ? x : slope·x (ESRGAN's RRDB in the CFW decoder uses slope 0.2), and its backward.</summary>
    void LeakyReLU(Tensor x, float slope, Tensor y);
    void LeakyReLUBackward(Tensor x, float slope, Tensor dy, Tensor dx);

    /// <summary>SFT / SPADE modulation y = x·(1+γ) + β, all of the same shape.</summary>
    void Sft(Tensor x, Tensor gamma, Tensor beta, Tensor y);
    void SftBackward(Tensor x, Tensor gamma, Tensor dy, Tensor? dx, Tensor? dgamma, Tensor? dbeta);
}
