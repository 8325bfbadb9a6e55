using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// torch.nn.GroupNorm with affine "weight"/"bias" [C]. StableSR always uses 32 groups; the eps differs by place
/// (1e-5 in the UNet's GroupNorm32, 1e-6 in the VAE's Normalize and the SpatialTransformer's norm).
/// </summary>
public sealed class GroupNorm : Module
{
    public const int Groups = 32;

    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public float Eps { get; }

    public GroupNorm(int channels, float eps)
    {
        Weight = Param("weight", channels);
        Bias = Param("bias", channels);
        Eps = eps;
    }

    /// <summary>Normalises x [B,C,*]; <paramref name="silu"/> fuses the SiLU that follows nearly every norm upstream.</summary>
    public Tensor Forward(Tensor x, bool silu = false) => F.GroupNorm(x, Groups, Weight.Tensor, Bias.Tensor, Eps, silu);
}
