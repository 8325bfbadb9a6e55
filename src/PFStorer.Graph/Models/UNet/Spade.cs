using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// SPADE, the paper's SFT layer (ldm/modules/spade.py, 'spadeinstance3x3'): SPADE(h) = GN32(h)·(1+γ) + β with
/// γ, β = mlp_gamma/mlp_beta(ReLU(mlp_shared(seg))), seg = the struct-cond map of h's width. The "param-free" norm is
/// GroupNorm32 with affine weights (eps 1e-5); the hidden width 128 is hard-coded upstream.
/// </summary>
public sealed class Spade : Module
{
    public const int Hidden = 128;

    public GroupNorm ParamFreeNorm { get; }
    public Conv2d MlpShared { get; }
    public Conv2d MlpGamma { get; }
    public Conv2d MlpBeta { get; }

    public Spade(int channels, int labelChannels)
    {
        ParamFreeNorm = Child("param_free_norm", new GroupNorm(channels, 1e-5f));
        MlpShared = Child("mlp_shared.0", Conv2d.Same3x3(labelChannels, Hidden));
        MlpGamma = Child("mlp_gamma", Conv2d.Same3x3(Hidden, channels));
        MlpBeta = Child("mlp_beta", Conv2d.Same3x3(Hidden, channels));
    }

    public Tensor Forward(Tensor h, StructCond structCond)
    {
        var seg = structCond[h.Dim(-1)];
        using var normalized = ParamFreeNorm.Forward(h);
        using var actv = Shared(seg);
        using var gamma = MlpGamma.Forward(actv);
        using var beta = MlpBeta.Forward(actv);
        return F.Sft(normalized, gamma, beta);
    }

    /// <summary>`mlp_shared` (Conv → ReLU) on a segmentation map.</summary>
    public Tensor Shared(Tensor seg)
    {
        using var conv = MlpShared.Forward(seg);
        return F.ReLU(conv);
    }
}
