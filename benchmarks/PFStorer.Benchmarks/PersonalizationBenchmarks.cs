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
/// is the reference stream's cost — the latter three ways (docs/identity-files.md, "Reference-stream cache"): without the
/// cache (every window runs the reference rows), with a cache that starts empty (the first image of a batch: the first
/// window of each step records, the other three replay) and with the cache an earlier image of the batch filled (every
/// window replays). `dotnet run -c Release --project benchmarks/PFStorer.Benchmarks -- --filter *Personalization*`
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

    private RestoreSettings WithIdentity => Settings with { Identity = _identity, Prompt = Prompts.PositiveWithIdentity };

    [Benchmark]
    public Image TinyRestoreWithIdentityUncached() => _restorer.Restore(_old, WithIdentity with { ReferenceCacheBytes = 0 });

    /// <summary>A restoration without the identity detaches it and frees its cache, so each measured call starts empty.</summary>
    [IterationSetup(Target = nameof(TinyRestoreWithIdentityFirstOfBatch))]
    public void FreeReferenceStreams() => _restorer.Restore(_old, Settings with { Steps = 1 });

    [Benchmark]
    public Image TinyRestoreWithIdentityFirstOfBatch() => _restorer.Restore(_old, WithIdentity);

    [Benchmark]
    public Image TinyRestoreWithIdentityLaterInBatch() => _restorer.Restore(_old, WithIdentity);

    [GlobalCleanup]
    public void Cleanup()
    {
        var (bytes, steps) = _restorer.ReferenceStreamCacheUse;
        Console.WriteLine($"// reference-stream cache: {bytes} bytes for {steps} timesteps");
        _identity.Dispose();
        _restorer.Dispose();
        _run.Dispose();
        _weights.Dispose();
    }
}
