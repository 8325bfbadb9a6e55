using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>torch.nn.Linear: "weight" [out,in], optional "bias" [out]; acts on the last dimension.</summary>
public sealed class Linear : Module
{
    public Parameter Weight { get; }
    public Parameter? Bias { get; }

    public Linear(int inFeatures, int outFeatures, bool bias = true) : this([outFeatures, inFeatures], bias) { }

    private Linear(int[] weightShape, bool bias)
    {
        Weight = Param("weight", weightShape);
        Bias = bias ? Param("bias", weightShape[0]) : null;
    }

    /// <summary>
    /// A 1×1 Conv2d (with bias) used on tokens [B,HW,C] instead of on the image: the same map, so it is a Linear whose
    /// weight keeps the checkpoint's conv layout [out,in,1,1].
    /// </summary>
    public static Linear PointwiseConv(int inChannels, int outChannels) => new([outChannels, inChannels, 1, 1], bias: true);

    public Tensor Forward(Tensor x)
    {
        if (Weight.Shape.Length == 2) return F.Linear(x, Weight.Tensor, Bias?.Tensor);
        using var w = F.Reshape(Weight.Tensor, Weight.Shape[0], Weight.Shape[1]);
        return F.Linear(x, w, Bias?.Tensor);
    }
}
