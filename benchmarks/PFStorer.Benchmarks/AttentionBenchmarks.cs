using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Graph.Backends;

namespace PFStorer.Benchmarks;

/// <summary>
/// CPU attention at the 64×64-latent level of the SD-2.1 UNet: q [1,4096,320] with 5 heads of 64, against itself
/// (attn1, 4096 keys) or the 77 projected text tokens (attn2). Nominal work: forward 4·B·H·Tq·Tk·D FLOPs (q·kᵀ and P·v),
/// backward 2.5× that (the five GEMMs of flash-attention's backward; this kernel recomputes q·kᵀ and dO·vᵀ once more).
/// </summary>
public class AttentionBenchmarks
{
    private const int Batch = 1, Queries = 4096, Width = 320, Heads = 5;

    [Params(4096, 77)]
    public int Keys { get; set; }

    private Tensor _q = null!, _k = null!, _v = null!, _o = null!, _lse = null!, _dO = null!, _dq = null!, _dk = null!, _dv = null!;
    private AttentionArgs _args = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        Tensor Random(params int[] shape)
        {
            var data = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            return Tensor.FromArray(data, shape);
        }
        _q = Random(Batch, Queries, Width);
        _k = Random(Batch, Keys, Width);
        _v = Random(Batch, Keys, Width);
        _dO = Random(Batch, Queries, Width);
        _o = Tensor.Empty([Batch, Queries, Width]);
        _lse = Tensor.Empty([Batch, Heads, Queries]);
        _dq = Tensor.Empty(_q.Shape);
        _dk = Tensor.Empty(_k.Shape);
        _dv = Tensor.Empty(_v.Shape);
        _args = new AttentionArgs(Heads, 1f / MathF.Sqrt(Width / Heads));
        CpuBackend.Instance.Attention(_q, _k, _v, _o, _lse, null, _args);
    }

    [Benchmark]
    public void Forward() => CpuBackend.Instance.Attention(_q, _k, _v, _o, _lse, null, _args);

    [Benchmark]
    public void Backward() => CpuBackend.Instance.AttentionBackward(_q, _k, _v, _o, _lse, _dO, null, _dq, _dk, _dv, _args);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _q, _k, _v, _o, _lse, _dO, _dq, _dk, _dv }) t.Dispose();
    }
}
