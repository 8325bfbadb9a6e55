using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Graph.Backends;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>Memory-bound elementwise kernels on a UNet feature map [2, 320, 64, 64].</summary>
public class ElementwiseBenchmarks : CudaBenchmark
{
    private Tensor _x = null!, _y = null!, _bias = null!, _gamma = null!, _beta = null!;
    private const int B = 2, C = 320, H = 64, W = 64;

    protected override void Prepare()
    {
        _x = Random(B, C, H, W);
        _y = Empty(B, C, H, W);
        _bias = Random(1, C, 1, 1);
        _gamma = Random(B, C, H, W);
        _beta = Random(B, C, H, W);
        double n = (double)B * C * H * W;
        Bytes(nameof(SiLU_2x320x64x64), 2 * n * Size);
        Bytes(nameof(Add_broadcast_channel_bias), 2 * n * Size);
        Bytes(nameof(Sft_2x320x64x64), 4 * n * Size);
    }

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void SiLU_2x320x64x64() => Measure(g => g.Unary(UnaryOp.SiLU, _x, _y));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Add_broadcast_channel_bias() => Measure(g => g.Binary(BinaryOp.Add, _x, _bias, _y));

    [Benchmark(OperationsPerInvoke = Repeats)]
    public void Sft_2x320x64x64() => Measure(g => g.Sft(_x, _gamma, _beta, _y));
}
