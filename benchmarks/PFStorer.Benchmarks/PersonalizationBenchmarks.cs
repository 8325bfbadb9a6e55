using BenchmarkDotNet.Attributes;
using PFStorer.Graph;
using PFStorer.Images;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Training.Personalization;

namespace PFStorer.Benchmarks;

/// <summary>
/// The product paths of personalization on the tiny demo model (tests/fixtures/stablesr-tiny) and the shipped astronaut
/// photos, CPU backend: one training iteration (data, forward, backward, AdamW), and a 4-step restoration of
/// examples/astronaut/old.png (48² → 192², 4 latent windows per step, CFG) without and with an identity — the difference
/// is the reference stream's cost. `dotnet run -c Release --project benchmarks/PFStorer.Benchmarks -- --filter *Personalization*`
/// </summary>
public class PersonalizationBenchmarks
{
    private Restorer _restorer = null!;
    private Identity _identity = null!;
    private Image _old = null!;
    private PersonalizationRun _run = null!;
    private Graph.Models.LatentDiffusionSRTextWT _model = null!;
    private StableSRWeights _weights = null!;
    private static readonly RestoreSettings Settings = new() { Steps = 4 };

    private static string Repo(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "PFStorer.Native.sln"))) dir = dir.Parent;
        return Path.Combine([dir?.FullName ?? throw new DirectoryNotFoundException("run from inside the repository"), .. parts]);
    }

    [GlobalSetup]
    public void Setup()
    {
        string model = Repo("tests", "fixtures", "stablesr-tiny", "model.safetensors"), vae = Repo("tests", "fixtures", "stablesr-tiny", "vae_cfw.safetensors");
        _weights = StableSRWeights.Load(model, vae);
        _model = _weights.Model;
        var photos = Enumerable.Range(1, 3).Select(i => ($"{i}.png", ImageFile.Read(Repo("examples", "astronaut", "photos", $"{i}.png")))).ToArray();
        _run = new PersonalizationRun(_model, photos, new PersonalizeSettings { Iterations = 1_000_000 }, Device.Cpu);
        string identity = Path.Combine(Path.GetTempPath(), "pfstorer-bench.pfid.safetensors");
        _run.WriteIdentity(identity, DateTimeOffset.UnixEpoch);
        _restorer = Restorer.Load(model, vae, DeviceChoice.Cpu);
        _identity = _restorer.ReadIdentity(identity);
        _old = ImageFile.Read(Repo("examples", "astronaut", "old.png"));
    }

    [Benchmark]
    public LossParts TinyTrainingIteration() => _run.Step();

    [Benchmark]
    public Image TinyRestoreWithoutIdentity() => _restorer.Restore(_old, Settings);

    [Benchmark]
    public Image TinyRestoreWithIdentity() => _restorer.Restore(_old, Settings with { Identity = _identity, Prompt = Prompts.PositiveWithIdentity });

    [GlobalCleanup]
    public void Cleanup()
    {
        _identity.Dispose();
        _restorer.Dispose();
        _run.Dispose();
        _weights.Dispose();
    }
}
