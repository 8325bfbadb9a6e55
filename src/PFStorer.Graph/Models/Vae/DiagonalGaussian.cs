using PFStorer.Kernels;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE posterior (DiagonalGaussianDistribution): mean, logvar = split(moments) along channels; logvar clamped to
/// [−30, 20]; std = exp(½·logvar). Owns its tensors.
/// </summary>
public sealed class DiagonalGaussian : IDisposable
{
    public const float LogVarMin = -30f, LogVarMax = 20f;

    public Tensor Mean { get; }
    public Tensor LogVar { get; }
    public Tensor Std { get; }

    private DiagonalGaussian(Tensor mean, Tensor logVar, Tensor std)
    {
        Mean = mean;
        LogVar = logVar;
        Std = std;
    }

    public static DiagonalGaussian FromMoments(Tensor moments)
    {
        int z = moments.Dim(1) / 2;
        var parts = F.Split(moments, 1, z, z);
        using var rawLogVar = parts[1];
        // No backend has clamp or exp; the posterior is latent-sized (8·h·w floats per image), so the host does it.
        var logVar = rawLogVar.ToFloatArray();
        var std = new float[logVar.Length];
        for (int i = 0; i < logVar.Length; i++)
        {
            logVar[i] = Math.Clamp(logVar[i], LogVarMin, LogVarMax);
            std[i] = MathF.Exp(0.5f * logVar[i]);
        }
        var shape = rawLogVar.Shape;
        return new DiagonalGaussian(parts[0],
            Tensor.FromSpan<float>(logVar, DType.F32, shape, moments.Device),
            Tensor.FromSpan<float>(std, DType.F32, shape, moments.Device));
    }

    /// <summary>posterior.sample() with the caller's standard-normal draw: mean + std·noise.</summary>
    public Tensor Sample(Tensor noise)
    {
        using var scaled = F.Mul(Std, noise);
        return F.Add(Mean, scaled);
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
