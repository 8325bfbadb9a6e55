using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>torch.nn.LayerNorm over the last dimension with affine "weight"/"bias" [C] and eps 1e-5 (the default everywhere here).</summary>
public sealed class LayerNorm : Module
{
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public float Eps { get; }

    public LayerNorm(int channels, float eps = 1e-5f)
    {
        Weight = Param("weight", channels);
        Bias = Param("bias", channels);
        Eps = eps;
    }

    public Tensor Forward(Tensor x) => F.LayerNorm(x, Weight.Tensor, Bias.Tensor, Eps);
}
