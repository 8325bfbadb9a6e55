using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Tests.Autograd;

/// <summary>
/// The shape of PFStorer's trainable-in-a-frozen-network graphs: a trainable modulation α in front of a frozen
/// GroupNorm+SiLU and a frozen 1×1 projection (a Linear over channels), merged back as h + γ⊙Block(h) with a trainable γ.
/// </summary>
internal sealed class ResidualBlock : Module
{
    public Parameter Alpha { get; }
    public Parameter Gamma { get; }
    public Parameter NormWeight { get; }
    public Parameter NormBias { get; }
    public Parameter ProjWeight { get; }
    public Parameter ProjBias { get; }

    public ResidualBlock(int channels)
    {
        Alpha = TrainableParam("alpha", 1, channels, 1, 1);
        NormWeight = Param("norm.weight", channels);
        NormBias = Param("norm.bias", channels);
        ProjWeight = Param("proj.weight", channels, channels);
        ProjBias = Param("proj.bias", channels);
        Gamma = TrainableParam("gamma", 1, channels, 1, 1);
    }

    /// <summary>Fills every parameter with random values on <paramref name="device"/>.</summary>
    public void Load(Random rng, Device device)
    {
        foreach (var (_, p) in NamedParameters())
            p.Assign(Tensor.FromSpan<float>(Reference.ToFloat(Reference.RandomArray(rng, (int)p.Numel)), PFStorer.Kernels.DType.F32, p.ShapeArray(), device));
    }

    /// <summary>Intermediates are disposed here: only the tape's saved handles keep activations alive until backward.</summary>
    public Tensor Forward(Tensor x)
    {
        using var h = F.Mul(x, Alpha.Tensor);
        using var n = F.GroupNorm(h, 2, NormWeight.Tensor, NormBias.Tensor, 1e-5f, silu: true);
        using var tokens = F.Permute(n, 0, 2, 3, 1);
        using var proj = F.Linear(tokens, ProjWeight.Tensor, ProjBias.Tensor);
        using var block = F.Permute(proj, 0, 3, 1, 2);
        using var scaled = F.Mul(Gamma.Tensor, block);
        return F.Add(h, scaled);
    }
}
