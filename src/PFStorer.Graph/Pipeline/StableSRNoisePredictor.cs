using PFStorer.Graph.Models;
using PFStorer.Graph.Sampling;
using PFStorer.Kernels;

namespace PFStorer.Graph.Pipeline;

/// <summary>ε_θ of StableSR: struct features of the LQ latent from the time-aware encoder at t, then the SFT-conditioned UNet.</summary>
public sealed class StableSRNoisePredictor(LatentDiffusionSRTextWT model) : INoisePredictor
{
    public void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps)
    {
        var t = new long[x.Dim(0)];
        Array.Fill(t, timestep);
        using var ts = Tensor.FromSpan<long>(t, DType.I64, [t.Length], x.Device);
        using var structCond = model.StructCondStageModel.Forward(lqLatent, ts);
        using var output = model.DiffusionModel.Forward(x, ts, context, structCond);
        x.Backend.Copy(output, eps);
    }
}
