using PFStorer.Kernels;

namespace PFStorer.Graph.Backends;

/// <summary>
/// The fused pieces of one reverse diffusion step, so the sampler (src/PFStorer.Graph/Sampling) runs in place on
/// preallocated buffers. CPU references: PFStorer.Kernels/Cpu/Philox.cs and SamplingCpu.cs; CUDA: kernels/random.cu, kernels/ddpm.cu.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// y[i] = element i of the standard normal (seed, stream) sequence of <see cref="Kernels.Cpu.Philox"/> (f32, contiguous).
    /// Every backend must give the same bits (kernels/random.cu is the CUDA twin).
    /// </summary>
    void StandardNormal(Tensor y, ulong seed, ulong stream);

    /// <summary>Classifier-free guidance ε̃ = ε_neg + scale·(ε_pos − ε_neg); all of one shape, y may alias either input.</summary>
    void Guidance(Tensor negative, Tensor positive, float scale, Tensor y);

    /// <summary>
    /// destination[b, c, top + i, left + j] += tile[b, c, i, j] · weight[i, j]: one tile's weighted contribution to the
    /// aggregated noise prediction. tile [B,C,h,w], weight [h,w], destination [B,C,H,W].
    /// </summary>
    void AccumulateTile(Tensor tile, Tensor weight, Tensor destination, int top, int left);

    /// <summary>
    /// One DDPM reverse step with ε parameterisation and no x̂₀ clipping, in the upstream float32 order:
    /// x̂₀ = c.SqrtRecip·x − c.SqrtRecipm1·ε; mean = c.MeanCoef1·x̂₀ + c.MeanCoef2·x; xNext = mean + c.NoiseStd·noise.
    /// noise may be null when NoiseStd is 0 (the last step); x0 and mean are optional outputs; xNext may alias x.
    /// </summary>
    void PosteriorStep(Tensor x, Tensor eps, Tensor? noise, PosteriorCoefficients c, Tensor xNext, Tensor? x0, Tensor? mean);
}
