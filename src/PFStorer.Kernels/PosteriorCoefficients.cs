namespace PFStorer.Kernels;

/// <summary>
/// The per-step scalars of one fused reverse diffusion step (see the PosteriorStep op and docs/sampling.md):
/// x̂₀ = SqrtRecipAlphasCumprod·x − SqrtRecipm1AlphasCumprod·ε; mean = MeanCoef1·x̂₀ + MeanCoef2·x; x' = mean + NoiseStd·z.
/// </summary>
public readonly record struct PosteriorCoefficients(float SqrtRecipAlphasCumprod, float SqrtRecipm1AlphasCumprod,
    float MeanCoef1, float MeanCoef2, float NoiseStd);
