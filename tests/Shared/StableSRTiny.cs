using PFStorer.Graph.Checkpoints;
using PFStorer.Graph;
using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Tests;

/// <summary>
/// The stablesr-tiny fixture: its config, the networks with model.safetensors (and the CFW VAE with
/// vae_cfw.safetensors) loaded, and the upstream reference tensors of cases.safetensors. Built once per test class.
/// </summary>
public sealed class StableSRTiny : IDisposable
{
    /// <summary>fp32 CPU against fp32 PyTorch; the bar.</summary>
    public const double Tolerance = 1e-4;

    private readonly Checkpoint _cases;

    public StableSRConfig Config { get; }
    public LatentDiffusionSRTextWT Model { get; }
    public AutoencoderKL CfwVae { get; }

    public StableSRTiny()
    {
        Config = StableSRConfig.Load(Fixtures.Path("stablesr-tiny", "config.json"));
        Model = new LatentDiffusionSRTextWT(Config);
        CfwVae = new AutoencoderKL(Config.CfwVae, cfw: true);
        using (var weights = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "model.safetensors")))
        {
            Load(weights, Model.DiffusionModel, StableSRComponent.Unet);
            Load(weights, Model.StructCondStageModel, StableSRComponent.TimeAwareEncoder);
            Load(weights, Model.FirstStageModel, StableSRComponent.Vae);
            Load(weights, Model.CondStageModel, StableSRComponent.TextEncoder);
        }
        using (var cfw = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors")))
            Load(cfw, CfwVae, StableSRComponent.CfwVae);
        _cases = Checkpoint.Open(Fixtures.Path("stablesr-tiny", "cases.safetensors"));
    }

    private static void Load(Checkpoint file, PFStorer.Graph.Modules.Module module, StableSRComponent component)
    {
        var report = LoadReport.LoadInto(file, module, component);
        Assert.True(report.IsExact, $"{file.Path} → {component}: {report}");
    }

    /// <summary>A reference tensor of cases.safetensors (f32, or i64 for tokens and timesteps).</summary>
    public Tensor Case(string name) => _cases.Load(name);

    /// <summary>The struct-cond features stored under <paramref name="prefix"/> + width.</summary>
    public StructCond StructCond(string prefix) => new(new[] { 16, 8, 4 }.ToDictionary(w => w, w => Case($"{prefix}{w}")));

    /// <summary>
    /// Asserts <paramref name="actual"/> equals the reference <paramref name="name"/>: same shape, and the largest
    /// element error relative to the reference's largest magnitude ≤ <see cref="Tolerance"/>. Logs both that figure and
    /// the normalised L2 error.
    /// </summary>
    public void AssertMatches(Tensor actual, string name)
    {
        using var expected = Case(name);
        Assert.True(actual.Shape.SequenceEqual(expected.Shape), $"{name}: shape {actual.ShapeString} ≠ reference {expected.ShapeString}");
        var a = actual.ToFloatArray();
        var e = expected.ToFloatArray();
        double maxAbs = 0, maxErr = 0;
        for (int i = 0; i < e.Length; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs(e[i]));
            maxErr = Math.Max(maxErr, float.IsFinite(a[i]) ? Math.Abs(a[i] - (double)e[i]) : double.PositiveInfinity);
        }
        double maxRel = maxErr / Math.Max(maxAbs, 1e-30);
        double l2 = Reference.NormalisedError(a, Reference.ToDouble(e));
        TestContext.Current.TestOutputHelper?.WriteLine($"{name} {actual.ShapeString}: max relative error {maxRel:E2}, normalised L2 error {l2:E2}");
        Assert.True(maxRel <= Tolerance, $"{name}: max relative error {maxRel:E3} > {Tolerance:E1} (normalised L2 {l2:E3})");
    }

    public void Dispose()
    {
        Model.Dispose();
        CfwVae.Dispose();
        _cases.Dispose();
    }
}
