using PFStorer.Graph;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using PFStorer.Training.Personalization;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// The personalization fixture (tests/fixtures/personalization, made in float64 with PyTorch autograd on stablesr-tiny):
/// the tiny model, the stored block weights, γ and token row, and comparison helpers with the tolerances.
/// </summary>
public sealed class PersonalizationFixture : IDisposable
{
    /// <summary>Outputs (ε, maps, losses): max error relative to the reference's largest magnitude, fp32 against float64.</summary>
    public const double OutputTolerance = 1e-4;
    /// <summary>Gradients: normalised error.</summary>
    public const double GradientTolerance = 1e-3;

    private readonly Checkpoint _cases = Checkpoint.Open(Fixtures.Path("personalization", "cases.safetensors"));

    public StableSRTiny Tiny { get; } = new();
    public LatentDiffusionSRTextWT Model => Tiny.Model;
    public IReadOnlyList<string> Placements { get; }
    public long PlaceholderId { get; } = SimpleTokenizer.Default.Encode("*").Single();
    public long EndOfTextId { get; } = SimpleTokenizer.Default.EndId;

    public PersonalizationFixture()
    {
        // The fixture personalizes every decoder transformer of the tiny UNet.
        Placements = Graph.Models.Placements.Resolve(Graph.Models.Placements.AllDecoder, Model.DiffusionModel);
    }

    public Tensor Case(string name) => _cases.Load(name);

    /// <summary>An adapter with the stored initial block weights, the stored token row and γ = 0 or the stored random γ.</summary>
    public PersonalizationAdapter Adapter(bool randomGamma)
    {
        var adapter = new PersonalizationAdapter(Model.DiffusionModel, Placements, Model.Config.Text.Width);
        foreach (var block in adapter.Blocks)
            foreach (var (path, p) in block.NamedParameters())
                p.Assign(path == "gamma"
                    ? randomGamma ? Case($"gamma.{block.Placement}") : Tensor.Zeros(p.Shape)
                    : Case($"pb.{block.Placement}.{path}"));
        adapter.Token.Assign(Case("in.token_row"));
        return adapter;
    }

    public PersonalizationObjective Objective(PersonalizationAdapter adapter) =>
        new(Model, adapter, new LossWeights(), PlaceholderId, EndOfTextId);

    /// <summary>The training example of cases a–c (z_t, z_lq, z_ref, ε, t = 937, "a photo of *").</summary>
    public TrainingExample Example(Tensor? noisyTarget = null, Tensor? noise = null, long? timestep = null) =>
        new(noisyTarget ?? Case("in.z_t"), Case("in.z_lq"), Case("in.z_ref"), noise ?? Case("in.eps"),
            timestep ?? Case("in.t").ToInt64Array()[0], Case("in.tokens"));

    public void AssertMatches(Tensor actual, string name) => AssertMatches(actual.ToFloatArray(), actual.ShapeString, name);

    public void AssertMatches(float[] actual, string shape, string name)
    {
        using var expected = Case(name);
        var e = expected.ToFloatArray();
        Assert.True(actual.Length == e.Length, $"{name}: {shape} has {actual.Length} values, the reference {expected.ShapeString} {e.Length}");
        double maxAbs = e.Max(v => Math.Abs((double)v)), maxErr = 0;
        for (int i = 0; i < e.Length; i++) maxErr = Math.Max(maxErr, float.IsFinite(actual[i]) ? Math.Abs(actual[i] - (double)e[i]) : double.PositiveInfinity);
        double rel = maxErr / Math.Max(maxAbs, 1e-30);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: max relative error {rel:E2}");
        Assert.True(rel <= OutputTolerance, $"{name}: max relative error {rel:E3} > {OutputTolerance:E0}");
    }

    public void AssertScalar(double actual, string name, double tolerance = OutputTolerance)
    {
        using var expected = Case(name);
        double e = expected.ToFloatArray()[0], rel = Math.Abs(actual - e) / Math.Abs(e);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {actual:R} vs {e:R}, relative error {rel:E2}");
        Assert.True(rel <= tolerance, $"{name}: {actual} vs reference {e}: relative error {rel:E3} > {tolerance:E0}");
    }

    /// <summary>
    /// Normalised error of a gradient against the reference, with a floor: ‖a − b‖ / max(‖b‖, 1e-4·<paramref name="scale"/>).
    /// The floor matters where the true gradient is structurally zero (the last decoder placement's ff.net.2 bias: a
    /// per-channel shift that the output GroupNorm removes, ~1e-18 in float64), where fp32 rounding leaves ~1e-9.
    /// </summary>
    public void AssertGradient(Tensor? grad, string name, double scale = 0)
    {
        Assert.True(grad != null, $"{name}: no gradient");
        using var expected = Case(name);
        var a = grad!.ToFloatArray();
        var e = expected.ToFloatArray();
        double diff = Math.Sqrt(a.Zip(e, (x, y) => (x - (double)y) * (x - (double)y)).Sum());
        double norm = Math.Sqrt(e.Sum(v => (double)v * v));
        double err = diff / Math.Max(norm, 1e-4 * scale);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: normalised error {err:E2} (‖reference‖ {norm:E2})");
        Assert.True(err <= GradientTolerance, $"{name}: normalised error {err:E3} > {GradientTolerance:E0}");
    }

    /// <summary>‖·‖ of every stored gradient of a block (its parameters and γ) together: the scale of the gradient floor.</summary>
    public double BlockGradientNorm(string prefix, PersonalizationBlock block) =>
        Math.Sqrt(block.NamedParameters().Sum(p =>
        {
            using var g = Case(p.Path == "gamma" ? $"{prefix}.grad.gamma.{block.Placement}" : $"{prefix}.grad.pb.{block.Placement}.{p.Path}");
            return g.ToFloatArray().Sum(v => (double)v * v);
        }));

    public void Dispose()
    {
        Tiny.Dispose();
        _cases.Dispose();
    }
}
