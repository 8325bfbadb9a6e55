using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// `time_embed`: the sinusoidal timestep embedding of width model_channels (cos half first, max period 10000),
/// then Linear → SiLU → Linear to 4·model_channels (children "0" and "2" as in the upstream nn.Sequential).
/// </summary>
public sealed class TimestepEmbedder : Module
{
    public int ModelChannels { get; }
    public Linear Linear0 { get; }
    public Linear Linear2 { get; }

    public TimestepEmbedder(int modelChannels, int embedDim)
    {
        ModelChannels = modelChannels;
        Linear0 = Child("0", new Linear(modelChannels, embedDim));
        Linear2 = Child("2", new Linear(embedDim, embedDim));
    }

    /// <summary>timesteps [B] (int64 or f32, original 0..999 steps) → [B, 4·model_channels].</summary>
    public Tensor Forward(Tensor timesteps)
    {
        using var sinusoid = F.TimestepEmbedding(timesteps, ModelChannels);
        return Mlp(sinusoid);
    }

    /// <summary>The Linear → SiLU → Linear part on a precomputed sinusoidal embedding.</summary>
    public Tensor Mlp(Tensor sinusoid)
    {
        using var h = Linear0.Forward(sinusoid);
        using var a = F.SiLU(h);
        return Linear2.Forward(a);
    }
}
