using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>
/// The remaining families, each memory-bound: shape (concat of skip connections, 2× upsampling), embedding (77 text
/// tokens of 1024), AdamW (a 10M-parameter adapter), the DDPM step and its Philox noise, the personalization epilogue and casts.
/// </summary>
public class MiscBenchmarks : CudaBenchmark
{
    private const int B = 2, C = 640, H = 32, W = 32, Params = 10_000_000, Tokens = 77, Width = 1024, Vocab = 49408;
    private Tensor _a = null!, _b = null!, _cat = null!, _small = null!, _up = null!, _ids = null!, _table = null!, _row = null!, _emb = null!;
    private Tensor _p = null!, _g = null!, _m = null!, _v = null!, _lat = null!, _cond = null!, _noise = null!, _next = null!;
    private Tensor _noiseF32 = null!;
    private Tensor _f = null!, _proj = null!, _gamma = null!, _res = null!, _wide = null!, _f32 = null!;

    protected override void Prepare()
    {
        _a = Random(B, C, H, W);
        _b = Random(B, C, H, W);
        _cat = Empty(B, 2 * C, H, W);
        _small = Random(B, C, H, W);
        _up = Empty(B, C, 2 * H, 2 * W);
        _ids = Own(Tensor.FromArray(Enumerable.Range(0, B * Tokens).Select(i => (long)(i * 7919 % Vocab)).ToArray(), B, Tokens).To(Gpu!.Device));
        _table = Random(Vocab, Width);
        _row = Random(Width);
        _emb = Empty(B, Tokens, Width);
        _p = Random(Params);
        _g = Random(Params);
        _m = Random(DType.F32, Params);
        _v = Own(Tensor.Zeros([Params], DType.F32, Gpu.Device));
        _lat = Random(B, 4, 64, 64);
        _cond = Random(B, 4, 64, 64);
        _noise = Random(B, 4, 64, 64);
        _next = Empty(B, 4, 64, 64);
        _noiseF32 = EmptyF32(B, 4, 64, 64);
        _f = Random(B, 4096, 320);
        _proj = Random(B, 4096, 320);
        _gamma = Random(320);
        _res = Empty(B, 4096, 320);
        _wide = Random(DType.F32, 64 << 20);
        _f32 = Empty(64 << 20);
        double map = (double)B * C * H * W * Size;
        Bytes(nameof(Concat_skip_2x640x32x32), 4 * map);
        Bytes(nameof(Upsample2x_2x640x32x32), 5 * map);
        Bytes(nameof(Token_embedding_2x77x1024), 2.0 * B * Tokens * Width * Size);
        Bytes(nameof(AdamW_10M), Params * (3.0 * Size + 4 * 4));
        Bytes(nameof(Ddpm_step_2x4x64x64), 4.0 * B * 4 * 64 * 64 * Size);
        Bytes(nameof(Standard_normal_2x4x64x64), 4.0 * B * 4 * 64 * 64);
        Bytes(nameof(Personalization_epilogue_2x4096x320), 3.0 * B * 4096 * 320 * Size);
        Bytes(nameof(Cast_f32_to_mode_64M), (64 << 20) * (4.0 + Size));
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Concat_skip_2x640x32x32() => Measure(g => g.Concat([_a, _b], 1, _cat));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Upsample2x_2x640x32x32() => Measure(g => g.Upsample2x(_small, _up));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Token_embedding_2x77x1024() => Measure(g => g.Embedding(_ids, _table, _emb, 265, _row));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void AdamW_10M() => Measure(g => g.AdamW(_p, _g, _m, _v, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 10));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Ddpm_step_2x4x64x64() => Measure(g => g.PosteriorStep(_lat, _cond, _noise, new PosteriorCoefficients(1.1f, 0.4f, 0.3f, 0.7f, 0.1f), _next, null, null));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Standard_normal_2x4x64x64() => Measure(g => g.StandardNormal(_noiseF32, 42, 0));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Personalization_epilogue_2x4096x320() => Measure(g => g.PersonalizeResidual(_f, _proj, null, _gamma, _res));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Cast_f32_to_mode_64M() => Measure(g => g.Copy(_wide, _f32));
}
