using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>torch.nn.Linear: "weight" [out,in], optional "bias" [out]; acts on the last dimension.</summary>
public sealed class Linear : Module
{
    public Parameter Weight { get; }
    public Parameter? Bias { get; }

    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        Weight = Param("weight", outFeatures, inFeatures);
        Bias = bias ? Param("bias", outFeatures) : null;
    }

    public Tensor Forward(Tensor x) => F.Linear(x, Weight.Tensor, Bias?.Tensor);
}
