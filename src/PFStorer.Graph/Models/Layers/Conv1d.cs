using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// torch.nn.Conv1d with kernel size 1 (the only kind the legacy AttentionBlock uses): "weight" [O,C,1], "bias" [O].
/// On x [B,C,T] it is the per-position linear map W·x, computed as one batched GEMM with the weight shared across B.
/// </summary>
public sealed class Conv1d : Module
{
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public Conv1d(int inChannels, int outChannels)
    {
        Weight = Param("weight", outChannels, inChannels, 1);
        Bias = Param("bias", outChannels);
    }

    public Tensor Forward(Tensor x)
    {
        int o = Weight.Shape[0];
        using var w = F.Reshape(Weight.Tensor, o, Weight.Shape[1]);
        using var y = F.MatMul(w, x);
        using var b = F.Reshape(Bias.Tensor, o, 1);
        return F.Add(y, b);
    }
}
