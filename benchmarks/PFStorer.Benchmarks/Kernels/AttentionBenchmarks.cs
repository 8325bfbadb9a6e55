using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Graph.Backends;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>
/// UNet attention at 64×64 latents: self-attention over 4096 tokens (5 heads of 64; the bf16 mode takes the
/// tensor-core path) and text cross-attention to 77 tokens (the small-KV path), forward and backward.
/// </summary>
public class AttentionBenchmarks : CudaBenchmark
{
    private const int B = 2, T = 4096, Heads = 5, D = 64, Text = 77;
    private Tensor _q = null!, _k = null!, _v = null!, _o = null!, _lse = null!, _kText = null!, _vText = null!, _lseText = null!, _oText = null!;
    private Tensor _dq = null!, _dk = null!, _dv = null!;
    private AttentionArgs _args = null!;

    protected override void Prepare()
    {
        _q = Random(B, T, Heads * D);
        _k = Random(B, T, Heads * D);
        _v = Random(B, T, Heads * D);
        _o = Empty(B, T, Heads * D);
        _lse = EmptyF32(B, Heads, T);
        _kText = Random(B, Text, Heads * D);
        _vText = Random(B, Text, Heads * D);
        _oText = Empty(B, T, Heads * D);
        _lseText = EmptyF32(B, Heads, T);
        _dq = Empty(B, T, Heads * D);
        _dk = Empty(B, T, Heads * D);
        _dv = Empty(B, T, Heads * D);
        _args = new AttentionArgs(Heads, 1f / MathF.Sqrt(D));
        Flops(nameof(Self_attention_4096_D64), 4.0 * B * Heads * T * T * D);
        Flops(nameof(Cross_attention_4096x77_D64), 4.0 * B * Heads * T * Text * D);
        Flops(nameof(Self_attention_backward_4096_D64), 10.0 * B * Heads * T * T * D);   // recompute S, then dP, dV, dQ, dK (and S again in dK/dV)
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Self_attention_4096_D64() => Measure(g => g.Attention(_q, _k, _v, _o, _lse, null, _args));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Cross_attention_4096x77_D64() => Measure(g => g.Attention(_q, _kText, _vText, _oText, _lseText, null, _args));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Self_attention_backward_4096_D64() => Measure(g => g.AttentionBackward(_q, _k, _v, _o, _lse, _o, null, _dq, _dk, _dv, _args));
}
