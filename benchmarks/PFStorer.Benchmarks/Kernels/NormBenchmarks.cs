using BenchmarkDotNet.Attributes;
using PFStorer.Graph;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>GroupNorm (+SiLU; then SFT, as SPADE runs it) on [2, 320, 64, 64] and LayerNorm on 2×4096 tokens of 320.</summary>
public class NormBenchmarks : CudaBenchmark
{
    private Tensor _x = null!, _y = null!, _n = null!, _w = null!, _b = null!, _gamma = null!, _beta = null!, _mean = null!, _rstd = null!;
    private Tensor _tokens = null!, _tokensOut = null!, _lw = null!, _lb = null!, _lmean = null!, _lrstd = null!;
    private const int B = 2, C = 320, H = 64, W = 64, G = 32, T = 4096;

    protected override void Prepare()
    {
        _x = Random(B, C, H, W);
        _y = Empty(B, C, H, W);
        _n = Empty(B, C, H, W);
        _w = Random(C);
        _b = Random(C);
        _gamma = Random(B, C, H, W);
        _beta = Random(B, C, H, W);
        _mean = EmptyF32(B * G);
        _rstd = EmptyF32(B * G);
        _tokens = Random(B * T, C);
        _tokensOut = Empty(B * T, C);
        _lw = Random(C);
        _lb = Random(C);
        _lmean = EmptyF32(B * T);
        _lrstd = EmptyF32(B * T);
        double n = (double)B * C * H * W;
        Bytes(nameof(GroupNorm_silu), 2 * n * Size);
        Bytes(nameof(GroupNorm_then_sft), 6 * n * Size);   // x → n, then n, γ, β → y
        Bytes(nameof(LayerNorm_8192x320), 2.0 * B * T * C * Size);
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void GroupNorm_silu() => Measure(g => g.GroupNorm(_x, _w, _b, _y, _mean, _rstd, G, 1e-5f, silu: true));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void GroupNorm_then_sft() => Measure(g =>
    {
        g.GroupNorm(_x, _w, _b, _n, _mean, _rstd, G, 1e-5f, silu: false);
        g.Sft(_n, _gamma, _beta, _y);
    });

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void LayerNorm_8192x320() => Measure(g => g.LayerNorm(_tokens, _lw, _lb, _tokensOut, _lmean, _lrstd, 1e-5f));
}
