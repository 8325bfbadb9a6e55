using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Benchmarks;

/// <summary>
/// The CPU SGEMM at a square size and at the UNet's largest projection shape (M = 64·64 tokens, N = 320 channels,
/// K = 2880 = 320·3·3, i.e. a 3×3 conv as im2col GEMM) in all four transpositions, with the 6×16 Vector256
/// micro-kernel and, where AVX-512 is accelerated, the 6×32 Vector512 one.
/// </summary>
[Config(typeof(GflopsConfig))]
public unsafe class SgemmBenchmarks
{
    public sealed record GemmCase(int M, int N, int K, bool TransA, bool TransB) : IHasFlops
    {
        public double Flops => 2.0 * M * N * K;
        public override string ToString() => $"{M}x{N}x{K} {(TransA ? 'T' : 'N')}{(TransB ? 'T' : 'N')}";
    }

    public static IEnumerable<GemmCase> Cases() =>
    [
        new(1024, 1024, 1024, false, false),
        new(4096, 320, 2880, false, false),
        new(4096, 320, 2880, false, true),
        new(4096, 320, 2880, true, false),
        new(4096, 320, 2880, true, true),
    ];

    [ParamsSource(nameof(Cases))]
    public GemmCase Shape { get; set; } = null!;

    public static IEnumerable<int> Widths() => Vector512.IsHardwareAccelerated ? [256, 512] : [256];

    /// <summary>Vector width of the micro-kernel in bits.</summary>
    [ParamsSource(nameof(Widths))]
    public int Kernel { get; set; }

    private float* _a, _b, _c;

    [GlobalSetup]
    public void Setup()
    {
        _a = Random((long)Shape.M * Shape.K);
        _b = Random((long)Shape.K * Shape.N);
        _c = Random((long)Shape.M * Shape.N);
    }

    [Benchmark]
    public void Sgemm()
    {
        var s = Shape;
        Kernels.Cpu.Sgemm.Batched(Kernel == 512, 1, s.TransA, s.TransB, s.M, s.N, s.K, 1f,
            _a, s.TransA ? s.M : s.K, 0, _b, s.TransB ? s.K : s.N, 0, 0f, _c, s.N, 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
    }

    internal static float* Random(long count)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(1234);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() * 2 - 1);
        return p;
    }
}
