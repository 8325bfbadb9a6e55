using PFStorer.Graph.Sampling;

namespace PFStorer.Graph.Backends;

/// <summary>The fused pieces of one reverse diffusion step (src/PFStorer.Graph/Sampling), so the loop runs in place on preallocated buffers.</summary>
public readonly record struct PosteriorCoefficients(float SqrtRecipAlphasCumprod, float SqrtRecipm1AlphasCumprod,
    float MeanCoef1, float MeanCoef2, float NoiseStd);

public partial interface IBackend
{
    /// <summary>
    /// y[i] = element i of the standard normal (seed, stream) sequence of <see cref="Philox"/> (f32, contiguous).
    /// Every backend must give the same bits (kernels/random.cu is the CUDA twin). The default draws on the host and uploads.
    /// </summary>
    void StandardNormal(Tensor y, ulong seed, ulong stream)
    {
        var host = new float[y.Numel];
        Philox.StandardNormal(host, seed, stream);
        CopyFromHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()), y);
    }

    /// <summary>Classifier-free guidance ε̃ = ε_neg + scale·(ε_pos − ε_neg); all of one shape, y may alias either input.</summary>
    void Guidance(Tensor negative, Tensor positive, float scale, Tensor y) =>
        HostFallback([negative, positive], y, (i, o) => SamplingKernels.Guidance(i[0], i[1], scale, o));

    /// <summary>
    /// destination[b, c, top + i, left + j] += tile[b, c, i, j] · weight[i, j]: one tile's weighted contribution to the
    /// aggregated noise prediction. tile [B,C,h,w], weight [h,w], destination [B,C,H,W].
    /// </summary>
    void AccumulateTile(Tensor tile, Tensor weight, Tensor destination, int top, int left) =>
        HostFallback([tile, weight, destination], destination,
            (i, o) => SamplingKernels.AccumulateTile(i[0], i[1], o, tile.ShapeArray(), destination.ShapeArray(), top, left));

    /// <summary>
    /// One DDPM reverse step with ε parameterisation and no x̂₀ clipping, in the upstream float32 order:
    /// x̂₀ = c.SqrtRecip·x − c.SqrtRecipm1·ε; mean = c.MeanCoef1·x̂₀ + c.MeanCoef2·x; xNext = mean + c.NoiseStd·noise.
    /// noise may be null when NoiseStd is 0 (the last step); x0 and mean are optional outputs; xNext may alias x.
    /// </summary>
    void PosteriorStep(Tensor x, Tensor eps, Tensor? noise, PosteriorCoefficients c, Tensor xNext, Tensor? x0, Tensor? mean)
    {
        var inputs = noise == null ? new[] { x, eps } : [x, eps, noise];
        var host = inputs.Select(t => t.ToFloatArray()).ToArray();
        var next = new float[xNext.Numel];
        var x0Host = x0 == null ? null : new float[x0.Numel];
        var meanHost = mean == null ? null : new float[mean.Numel];
        SamplingKernels.PosteriorStep(host[0], host[1], noise == null ? null : host[2], c, next, x0Host, meanHost);
        Upload(next, xNext);
        if (x0Host != null) Upload(x0Host, x0!);
        if (meanHost != null) Upload(meanHost, mean!);
    }

    private void HostFallback(Tensor[] inputs, Tensor output, Action<float[][], float[]> kernel)
    {
        var host = inputs.Select(t => t.ToFloatArray()).ToArray();
        var o = output.ToFloatArray();
        kernel(host, o);
        Upload(o, output);
    }

    private void Upload(float[] host, Tensor destination) =>
        CopyFromHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()), destination);
}
