using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using PFStorer.Graph;
using PFStorer.Graph.Models;

namespace PFStorer.Benchmarks;

/// <summary>
/// One full-size StableSR UNet forward (918.9 M parameters, SPADE included) at a 64×64 latent (a 512² image), batch 1,
/// on the CPU backend with random weights. A forward takes minutes on a few cores, so this runs a single cold
/// iteration instead of the usual job: `dotnet run -c Release --project benchmarks/PFStorer.Benchmarks -- --filter *UNet*`.
/// </summary>
[Config(typeof(SingleRunConfig))]
public class UNetBenchmarks
{
    private UNetModelDualcondV2 _unet = null!;
    private Tensor _x = null!, _t = null!, _context = null!;
    private StructCond _structCond = null!;

    [GlobalSetup]
    public void Setup()
    {
        var cfg = StableSRConfig.Full512.UNet;
        _unet = new UNetModelDualcondV2(cfg);
        var rng = new Random(1234);
        RandomWeights.Fill(_unet, rng);
        _x = Random(rng, 1, 4, 64, 64);
        _t = Tensor.FromArray(new long[] { 500 }, 1);
        _context = Random(rng, 1, 77, cfg.ContextDim);
        _structCond = new StructCond(new[] { 64, 32, 16, 8 }.ToDictionary(w => w, w => Random(rng, 1, cfg.SembChannels, w, w)));
    }

    [Benchmark]
    public void Forward512()
    {
        using var eps = _unet.Forward(_x, _t, _context, _structCond);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _unet.Dispose();
        _structCond.Dispose();
        _x.Dispose();
        _t.Dispose();
        _context.Dispose();
    }

    private static Tensor Random(Random rng, params int[] shape) => RandomWeights.Uniform(rng, 1f, shape);

    /// <summary>Replaces the global ShortRun job: one launch, no warm-up, one iteration, in process.</summary>
    private sealed class SingleRunConfig : ManualConfig
    {
        public SingleRunConfig()
        {
            UnionRule = ConfigUnionRule.AlwaysUseLocal;
            AddJob(Job.Dry.WithStrategy(RunStrategy.ColdStart).WithToolchain(InProcessEmitToolchain.Instance));
            AddLogger(DefaultConfig.Instance.GetLoggers().ToArray());
            AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray());
            AddExporter(DefaultConfig.Instance.GetExporters().ToArray());
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
    }
}
