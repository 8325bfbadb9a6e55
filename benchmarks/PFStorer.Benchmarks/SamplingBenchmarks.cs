using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Graph.Sampling;

namespace PFStorer.Benchmarks;

/// <summary>
/// The sampler's own work per step on the CPU backend, beside the UNet: noise for a 4×64×64 latent (one 512² tile),
/// the fused posterior step, and the Gaussian blend of the 3×3 windows of a 128×128 latent (a 1024² image).
/// These should stay negligible next to one UNet evaluation (UNetBenchmarks).
/// </summary>
[MemoryDiagnoser]
public class SamplingBenchmarks
{
    private Tensor _x = null!, _eps = null!, _noise = null!, _next = null!, _canvas = null!, _tile = null!;
    private Tensor[] _weights = null!;
    private TileWindow[] _windows = null!;
    private readonly Kernels.PosteriorCoefficients _c = DiffusionSchedule.UpstreamFloat32(200).Coefficients(100);

    [GlobalSetup]
    public void Setup()
    {
        _x = Tensor.Full([1, 4, 64, 64], 0.3f);
        _eps = Tensor.Full([1, 4, 64, 64], -0.1f);
        _noise = Tensor.Empty([1, 4, 64, 64]);
        _next = Tensor.Empty([1, 4, 64, 64]);
        _canvas = Tensor.Zeros([1, 4, 128, 128]);
        _tile = Tensor.Full([1, 4, 64, 64], 0.5f);
        var starts = TileLayout.CanvasStarts(128, 64, 32);
        _windows = TileLayout.Windows(starts, starts, 128, 128, 64);
        _weights = TileLayout.NormalisedWeights(_windows, 128, 128).Select(w => Tensor.FromArray(w, 64, 64)).ToArray();
    }

    [Benchmark]
    public void PhiloxNoise64() => _noise.Backend.StandardNormal(_noise, 42, NoiseStreams.Step(100));

    [Benchmark]
    public void PosteriorStep64() => _x.Backend.PosteriorStep(_x, _eps, _noise, _c, _next, null, null);

    [Benchmark]
    public void BlendNineWindows128()
    {
        for (int i = 0; i < _windows.Length; i++)
            _canvas.Backend.AccumulateTile(_tile, _weights[i], _canvas, _windows[i].Top, _windows[i].Left);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _eps, _noise, _next, _canvas, _tile }.Concat(_weights)) t.Dispose();
    }
}
