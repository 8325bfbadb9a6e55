using BenchmarkDotNet.Attributes;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Benchmarks;

/// <summary>
/// The memory-bound CPU reference ops at full-size UNet shapes (64×64 latent, 320 channels, 4096 tokens):
/// GroupNorm32+SiLU forward/backward, LayerNorm, exact-erf GELU inside GEGLU (forward and backward), and a broadcast bias add.
/// `dotnet run -c Release --project benchmarks/PFStorer.Benchmarks -- --filter *NormBenchmarks*`.
/// </summary>
public class NormBenchmarks
{
    private const int Channels = 320, Spatial = 64 * 64, Groups = 32, Tokens = 4096, FfWidth = 1280;
    private float[] _x = null!, _y = null!, _dy = null!, _dx = null!, _w = null!, _b = null!, _dw = null!, _db = null!;
    private float[] _mean = null!, _rstd = null!, _rowMean = null!, _rowRstd = null!, _geglu = null!, _gegluOut = null!;
    private float[] _gegluDx = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1234);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _x = R(Channels * Spatial);
        _dy = R(Channels * Spatial);
        _y = new float[_x.Length];
        _dx = new float[_x.Length];
        _w = R(Channels);
        _b = R(Channels);
        _dw = new float[Channels];
        _db = new float[Channels];
        _mean = new float[Groups];
        _rstd = new float[Groups];
        _rowMean = new float[Tokens];
        _rowRstd = new float[Tokens];
        _geglu = R(Tokens * 2 * FfWidth);
        _gegluOut = new float[Tokens * FfWidth];
        _gegluDx = new float[Tokens * 2 * FfWidth];
        GroupNormCpu.Forward(_x, _w, _b, _y, _mean, _rstd, 1, Channels, Spatial, Groups, 1e-5f, silu: true);
    }

    [Benchmark]
    public void GroupNormSiLUForward() => GroupNormCpu.Forward(_x, _w, _b, _y, _mean, _rstd, 1, Channels, Spatial, Groups, 1e-5f, silu: true);

    [Benchmark]
    public void GroupNormSiLUBackward() =>
        GroupNormCpu.Backward(_x, _w, _b, _mean, _rstd, _dy, _dx, _dw, _db, 1, Channels, Spatial, Groups, silu: true);

    [Benchmark]
    public void LayerNormForward() => LayerNormCpu.Forward(_x, _w, _b, _y, _rowMean, _rowRstd, Channels, 1e-5f);

    [Benchmark]
    public void GegluForward() => ActivationCpu.Geglu(_geglu, _gegluOut, FfWidth);

    // The upstream gradient reuses the forward output buffer: any finite values exercise the same arithmetic.
    [Benchmark]
    public void GegluBackward() => ActivationCpu.GegluBackward(_geglu, _gegluOut, _gegluDx, FfWidth);

    [Benchmark]
    public void BroadcastBiasAdd() =>
        ElementwiseCpu.Binary(ElementwiseCpu.BinaryKind.Add, _x, [1, Channels, 64, 64], _w, [Channels, 1, 1], _y, [1, Channels, 64, 64]);
}
