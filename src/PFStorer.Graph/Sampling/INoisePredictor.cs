namespace PFStorer.Graph.Sampling;

/// <summary>
/// ε_θ of StableSR: the time-aware encoder applied to the clean LQ latent (its features recomputed for every timestep)
/// feeding the SFT layers of the UNet, which predicts the noise in x. x, lqLatent and eps are [N,4,h,w],
/// context [N,77,D]; <paramref name="timestep"/> is the original (0..999) step. Implementations write eps in place.
/// </summary>
public interface INoisePredictor
{
    void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps);
}

/// <summary>Where the sampler's Gaussian noise comes from: one stream id per use (see <see cref="NoiseStreams"/>).</summary>
public interface INoiseSource
{
    void Draw(Tensor y, ulong stream);
}

/// <summary>Stream ids of one restoration, so each use of noise is independent of image size and step count.</summary>
public static class NoiseStreams
{
    public const ulong PosteriorSample = 0;
    public const ulong Start = 1;
    public static ulong Step(int respacedIndex) => 2 + (ulong)respacedIndex;
}

/// <summary>The engine's noise: Philox by (seed, stream), drawn by the tensor's own backend, identical on CPU and CUDA.</summary>
public sealed class PhiloxNoise(ulong seed) : INoiseSource
{
    public ulong Seed { get; } = seed;
    public void Draw(Tensor y, ulong stream) => y.Backend.StandardNormal(y, Seed, stream);
}
