using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace PFStorer.Benchmarks;

/// <summary>A benchmark parameter that knows how many floating-point operations one invocation performs.</summary>
public interface IHasFlops
{
    double Flops { get; }
}

/// <summary>Throughput column: the flops of the case's <see cref="IHasFlops"/> parameter over the mean time.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Billions of floating-point operations per second (2·M·N·K per GEMM) at the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var flops = benchmarkCase.Parameters.Items.Select(p => p.Value).OfType<IHasFlops>().FirstOrDefault();
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (flops == null || stats == null || stats.Mean <= 0) return "-";
        return (flops.Flops / stats.Mean).ToString("F1"); // flops per ns = GFLOP/s
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>Adds <see cref="GflopsColumn"/> to a benchmark class: <c>[Config(typeof(GflopsConfig))]</c>.</summary>
public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn());
}
