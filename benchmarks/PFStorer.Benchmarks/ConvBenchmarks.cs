using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Benchmarks;

/// <summary>The UNet's most expensive conv: 3×3, 320→320 channels on a 64×64 latent, forward and full backward.</summary>
[Config(typeof(GflopsConfig))]
public unsafe class ConvBenchmarks
{
    public sealed record ConvCase(int Batch, int Channels, int Size, int OutChannels, int Kernel, int Stride, int Padding) : IHasFlops
    {
        public Conv2dGeometry Geometry => new(Batch, Channels, Size, Size, OutChannels, Kernel, Kernel, Stride, Padding);
        /// <summary>Multiply-adds of the forward GEMM; the backward (dx and dW) does twice as many.</summary>
        public double Flops => 2.0 * Geometry.Batch * OutChannels * Geometry.ColCols * Geometry.ColRows;
        // BenchmarkDotNet truncates parameter text past 20 characters.
        public override string ToString() => $"{Batch}x{Channels}x{Size}² →{OutChannels} k{Kernel}s{Stride}";
    }

    public static IEnumerable<ConvCase> Cases() => [new(1, 320, 64, 320, 3, 1, 1)];

    [ParamsSource(nameof(Cases))]
    public ConvCase Shape { get; set; } = null!;

    private float* _x, _w, _b, _y, _dx, _dw, _db;

    [GlobalSetup]
    public void Setup()
    {
        var g = Shape.Geometry;
        long xn = (long)g.Batch * g.Channels * g.Height * g.Width, wn = (long)g.OutChannels * g.ColRows, yn = (long)g.Batch * g.OutChannels * g.ColCols;
        _x = SgemmBenchmarks.Random(xn);
        _w = SgemmBenchmarks.Random(wn);
        _b = SgemmBenchmarks.Random(g.OutChannels);
        _y = SgemmBenchmarks.Random(yn);
        _dx = SgemmBenchmarks.Random(xn);
        _dw = SgemmBenchmarks.Random(wn);
        _db = SgemmBenchmarks.Random(g.OutChannels);
    }

    [Benchmark]
    public void Forward() => Conv2dCpu.Forward(Shape.Geometry, _x, _w, _b, _y);

    /// <summary>dx, dW and dbias; GFLOP/s here is against the forward's flops, so the backward's real rate is twice the figure.</summary>
    [Benchmark]
    public void Backward() => Conv2dCpu.Backward(Shape.Geometry, _x, _w, _y, _dx, _dw, _db);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { (nint)_x, (nint)_w, (nint)_b, (nint)_y, (nint)_dx, (nint)_dw, (nint)_db })
            NativeMemory.AlignedFree((void*)p);
    }
}
