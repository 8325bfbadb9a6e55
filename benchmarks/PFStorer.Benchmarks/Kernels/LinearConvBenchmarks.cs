using BenchmarkDotNet.Attributes;
using PFStorer.Graph;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>cuBLAS GEMM (a UNet feed-forward projection) and the im2col convolution (3×3, 320→320 at 64×64).</summary>
public class LinearConvBenchmarks : CudaBenchmark
{
    private const int Tokens = 2 * 4096, In = 320, Out = 2560, B = 2, C = 320, H = 64, W = 64;
    private Tensor _x = null!, _w = null!, _y = null!, _map = null!, _kernel = null!, _bias = null!, _mapOut = null!, _dx = null!, _dw = null!, _db = null!;

    protected override void Prepare()
    {
        _x = Random(Tokens, In);
        _w = Random(Out, In);
        _y = Empty(Tokens, Out);
        _map = Random(B, C, H, W);
        _kernel = Random(C, C, 3, 3);
        _bias = Random(C);
        _mapOut = Empty(B, C, H, W);
        _dx = Empty(B, C, H, W);
        _dw = Empty(C, C, 3, 3);
        _db = Empty(C);
        Flops(nameof(Linear_8192x320_to_2560), 2.0 * Tokens * In * Out);
        Flops(nameof(Conv3x3_320_64x64), 2.0 * B * C * C * 9 * H * W);
        Flops(nameof(Conv3x3_320_64x64_backward), 4.0 * B * C * C * 9 * H * W);
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Linear_8192x320_to_2560() => Measure(g => g.MatMul(_x, _w, _y, false, true));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Conv3x3_320_64x64() => Measure(g => g.Conv2d(_map, _kernel, _bias, _mapOut, 1, 1));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Conv3x3_320_64x64_backward() => Measure(g => g.Conv2dBackward(_map, _kernel, _mapOut, _dx, _dw, _db, 1, 1));
}
