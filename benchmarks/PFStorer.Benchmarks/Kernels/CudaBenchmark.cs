using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PFStorer.Graph;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Benchmarks.CudaKernels;

/// <summary>
/// Base of the kernel benchmarks: opens the CUDA backend (printing "no CUDA device" and doing nothing when there is
/// none), makes inputs in the storage mode under test, and records each benchmark's work (bytes that must cross
/// device memory, or floating-point operations) so the Throughput column reports GB/s or TFLOP/s beside the shape.
/// Each benchmark issues <see cref="Repeats"/> launches and synchronises once, so launch latency is amortised.
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
public abstract class CudaBenchmark
{
    public const int Repeats = 20;
    private readonly List<Tensor> _owned = new();
    protected CudaBackend? Gpu { get; private set; }

    [Params(DType.F32, DType.BF16)]
    public DType Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Gpu = CudaBackend.TryCreate(out var reason);
        if (Gpu == null)
        {
            Console.WriteLine($"no CUDA device: {reason}");
            return;
        }
        Console.WriteLine(Gpu.Gpu.Describe());
        Prepare();
        Gpu.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }

    protected abstract void Prepare();

    /// <summary>Runs <paramref name="launch"/> <see cref="Repeats"/> times and waits for the device.</summary>
    protected void Measure(Action<CudaBackend> launch)
    {
        if (Gpu == null) return;
        for (int i = 0; i < Repeats; i++) launch(Gpu);
        Gpu.Synchronize();
    }

    protected Tensor Random(params int[] shape) => Random(Mode, shape);

    protected Tensor Random(DType dtype, params int[] shape)
    {
        var rng = new Random(shape.Aggregate(17, (h, s) => h * 31 + s));
        var data = new float[shape.Aggregate(1, (p, s) => p * s)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        using var cpu = Tensor.FromArray(data, shape);
        return Own(cpu.Contiguous(dtype, Gpu!.Device));
    }

    protected Tensor Empty(params int[] shape) => Own(Tensor.Empty(shape, Mode, Gpu!.Device));
    protected Tensor EmptyF32(params int[] shape) => Own(Tensor.Empty(shape, DType.F32, Gpu!.Device));

    protected Tensor Own(Tensor t)
    {
        _owned.Add(t);
        return t;
    }

    protected int Size => Mode.Size();

    /// <summary>Bytes one launch of <paramref name="benchmark"/> must move (each input read once, each output written once).</summary>
    protected void Bytes(string benchmark, double bytes) => Throughput.Record(GetType(), benchmark, Mode, bytes, isFlops: false);

    protected void Flops(string benchmark, double flops) => Throughput.Record(GetType(), benchmark, Mode, flops, isFlops: true);
}

/// <summary>Work per launch recorded by the benchmarks during setup (the in-process toolchain shares this process).</summary>
public static class Throughput
{
    private static readonly ConcurrentDictionary<(string, string, DType), (double Amount, bool IsFlops)> Work = new();

    public static void Record(Type type, string benchmark, DType mode, double amount, bool isFlops) => Work[(type.Name, benchmark, mode)] = (amount, isFlops);

    public static bool TryGet(BenchmarkCase c, out (double Amount, bool IsFlops) work)
    {
        var mode = c.Parameters.Items.FirstOrDefault(p => p.Name == nameof(CudaBenchmark.Mode))?.Value is DType m ? m : DType.F32;
        return Work.TryGetValue((c.Descriptor.Type.Name, c.Descriptor.WorkloadMethod.Name, mode), out work);
    }
}

public sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "Throughput";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Achieved GB/s (memory-bound kernels) or TFLOP/s (matrix kernels) per launch";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats == null || !Throughput.TryGet(benchmarkCase, out var work)) return "no CUDA device";
        double seconds = stats.Mean * 1e-9;   // per operation (OperationsPerInvoke = Repeats)
        return work.IsFlops ? $"{work.Amount / seconds / 1e12:F1} TFLOP/s" : $"{work.Amount / seconds / 1e9:F0} GB/s";
    }
}

public sealed class KernelBenchmarkConfig : ManualConfig
{
    public KernelBenchmarkConfig() => AddColumn(new ThroughputColumn());
}
