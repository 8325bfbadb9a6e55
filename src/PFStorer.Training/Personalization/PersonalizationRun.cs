using System.Globalization;
using System.Reflection;
using System.Text.Json;
using PFStorer.Graph;
using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Graph.Sampling;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;
using PFStorer.Training.Degradations;
using PFStorer.Training.Optim;

namespace PFStorer.Training.Personalization;

/// <summary>A loss or gradient turned NaN/Inf; the run's weights are those of the last finite iteration.</summary>
public sealed class TrainingDivergedException(int iteration, string what) : Exception($"training diverged at iteration {iteration}: {what}")
{
    public int Iteration { get; } = iteration;
}

/// <summary>
/// One personalization of a base model (docs/identity-files.md, "Training run"): an adapter attached to the frozen UNet,
/// AdamW over its three groups, and the per-iteration data of PFStorer's recipe, every random choice drawn from the seed
/// and the iteration number alone — so a run resumed from <see cref="SaveState"/> continues exactly as if never stopped.
/// </summary>
public sealed class PersonalizationRun : IDisposable
{
    private readonly List<LossParts> _history = [];
    private readonly PersonalizationObjective _objective;
    private readonly DiffusionSchedule _schedule = DiffusionSchedule.UpstreamFloat32(DiffusionSchedule.TrainSteps);

    public LatentDiffusionSRTextWT Model { get; }
    public PersonalizeSettings Settings { get; }
    public IReadOnlyList<TrainingPhoto> Photos { get; }
    public PersonalizationAdapter Adapter { get; }
    public AdamW Optimizer { get; }
    public Device Device { get; }
    public string BaseFingerprint { get; }
    /// <summary>Iterations completed.</summary>
    public int Iteration { get; private set; }
    public IReadOnlyList<LossParts> History => _history;

    /// <summary>The side of the square training photos: 8 × the model's latent tile (512 for the 512 model).</summary>
    public static int PhotoSize(StableSRConfig config) => 8 * Restorer.DefaultTileSizeOf(config);

    /// <summary>Prepares and encodes the photos (named, already decoded), then a fresh adapter: blocks from the seed, γ = 0, the token = the init word's embedding.</summary>
    public PersonalizationRun(LatentDiffusionSRTextWT model, IReadOnlyList<(string Name, Images.Image Image)> photos, PersonalizeSettings settings, Device device)
    {
        settings.Validate();
        if (photos.Count == 0) throw new ArgumentException("personalization needs at least one photo");
        Model = model;
        Settings = settings;
        Device = device;
        BaseFingerprint = Graph.Personalization.BaseFingerprint.Of(model);
        int size = PhotoSize(model.Config);
        Photos = photos.Select(p =>
        {
            var prepared = TrainingPhotos.Prepare(p.Image, size);
            return new TrainingPhoto(p.Name, prepared, TrainingPhotos.Encode(model.FirstStageModel, prepared, device));
        }).ToArray();
        var tokenizer = SimpleTokenizer.Default;
        var initIds = tokenizer.Encode(settings.InitWord);
        if (initIds.Count != 1) throw new ArgumentException($"init-word '{settings.InitWord}' is {initIds.Count} tokens; choose a word that is one token (e.g. face)");
        Adapter = new PersonalizationAdapter(model.DiffusionModel, Placements.Resolve(settings.Placements, model.DiffusionModel), model.Config.Text.Width);
        using (var row = model.CondStageModel.TokenEmbedding.Tensor.Slice(0, initIds[0], 1))
        using (var initRow = row.View(model.Config.Text.Width))
            Adapter.Initialise(settings.BlockInitSeed, initRow);
        Adapter.Attach(model.DiffusionModel);
        Optimizer = new AdamW(PersonalizationGroups.For(Adapter, settings.Rates));
        _objective = new PersonalizationObjective(model, Adapter, settings.Losses, tokenizer.PlaceholderId, tokenizer.EndId);
    }

    /// <summary>
    /// Runs the next iteration: forward, backward, AdamW. Throws <see cref="TrainingDivergedException"/> — before any
    /// weight changes — when a loss part or a gradient is not finite.
    /// </summary>
    public LossParts Step()
    {
        int number = Iteration + 1;
        var example = Example(Iteration);
        try
        {
            LossParts parts;
            using (var result = _objective.Forward(example))
            {
                parts = result.Values();
                if (!double.IsFinite(parts.Diff) || !double.IsFinite(parts.Gen) || !double.IsFinite(parts.Pers))
                    throw new TrainingDivergedException(number, $"loss is not finite (L_diff {parts.Diff}, L_gen {parts.Gen}, L_pers {parts.Pers})");
                result.Backward();
            }
            if (Optimizer.Groups.SelectMany(g => g.Parameters).FirstOrDefault(p => p.Value?.Grad is { } g && !AllFinite(g)) is { } bad)
                throw new TrainingDivergedException(number, $"the gradient of {bad.Name} is not finite");
            Optimizer.Step();
            Iteration = number;
            _history.Add(parts);
            return parts;
        }
        finally
        {
            Optimizer.ZeroGrad();
            Dispose(example);
        }
    }

    /// <summary>
    /// The data of iteration <paramref name="iteration"/> (0-based): target photo, a different reference photo (the same
    /// when only one is given), the heavy degradation of the target (clean with p = 0.03, inside the sampler), t ~ U{0..999},
    /// a prompt template, and Philox noise for the posterior samples and ε — all from (seed, iteration).
    /// </summary>
    public TrainingExample Example(int iteration)
    {
        var rng = DegradationRng.ForItem(Settings.Seed, (ulong)iteration);
        int n = Photos.Count, target = rng.NextInt(n);
        int reference = n == 1 ? target : (target + 1 + rng.NextInt(n - 1)) % n;
        var degradation = Degradation.Sample(DegradationLevel.Heavy, rng.NextUInt64());
        long t = rng.NextInt(DiffusionSchedule.TrainSteps);
        string prompt = PromptTemplates.Face[rng.NextInt(PromptTemplates.Face.Count)];
        ulong noiseSeed = rng.NextUInt64();
        float scale = Model.Config.ScaleFactor;

        var lqImage = Degradation.Apply(Photos[target].Image, degradation);
        var lqLatent = TrainingPhotos.Encode(Model.FirstStageModel, lqImage, Device);
        using (lqLatent)
        {
            var lq = Sample(lqLatent, noiseSeed, 0, scale);
            var z0 = Sample(Photos[target].Latent, noiseSeed, 1, scale);
            var zRef = Sample(Photos[reference].Latent, noiseSeed, 2, scale);
            var eps = new float[z0.Length];
            Philox.StandardNormal(eps, noiseSeed, 3);
            float a = (float)_schedule.SqrtAlphasCumprod[t], b = (float)_schedule.SqrtOneMinusAlphasCumprod[t];
            var zt = new float[z0.Length];
            for (int i = 0; i < zt.Length; i++) zt[i] = a * z0[i] + b * eps[i];
            var shape = lqLatent.Mean.ShapeArray();
            var ids = SimpleTokenizer.Default.TokenizeWithPlaceholder(prompt).Ids;
            return new TrainingExample(Latent(zt, shape), Latent(lq, shape), Latent(zRef, shape), Latent(eps, shape), t,
                Tensor.FromSpan<long>(ids, DType.I64, [1, ids.Length], Device));
        }
    }

    // (mean + std·n) · scale with n ~ N(0, I) from (seed, stream): one posterior sample in diffusion space.
    private static float[] Sample(ReferenceLatent latent, ulong seed, ulong stream, float scale)
    {
        var mean = latent.Mean.ToFloatArray();
        var std = latent.Std.ToFloatArray();
        var n = new float[mean.Length];
        Philox.StandardNormal(n, seed, stream);
        for (int i = 0; i < n.Length; i++) n[i] = (mean[i] + std[i] * n[i]) * scale;
        return n;
    }

    private Tensor Latent(float[] values, int[] shape) => Tensor.FromSpan<float>(values, DType.F32, shape, Device);

    private static bool AllFinite(Tensor t) => Graph.Checkpoints.TensorValues.Count(t.ToFloatArray()).NonFinite == 0;

    private static void Dispose(TrainingExample e)
    {
        foreach (var t in new[] { e.NoisyTarget, e.LowQuality, e.Reference, e.Noise, e.TokenIds }) t.Dispose();
    }

    /// <summary>Writes the identity file (atomically) with the run's metadata; <paramref name="created"/> is recorded as given.</summary>
    public void WriteIdentity(string path, DateTimeOffset created)
    {
        var metadata = new Dictionary<string, string>
        {
            ["hyperparameters"] = Settings.ToJson(),
            ["iterations"] = Iteration.ToString(CultureInfo.InvariantCulture),
            ["loss_summary"] = LossSummary.Of(_history).ToJson(),
            ["photos"] = JsonSerializer.Serialize(Photos.Select(p => p.Name)),
            ["photo_preparation"] = string.Format(CultureInfo.InvariantCulture, TrainingPhotos.PreparationNote, PhotoSize(Model.Config)),
            ["created"] = created.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["engine_version"] = EngineVersion,
        };
        if (FaceDescriptor is { } d) metadata[Identity.FaceDescriptorKey] = JsonSerializer.Serialize(d);
        IdentityFile.Write(path, Adapter, Photos.Select(p => p.Latent).ToArray(), BaseFingerprint, metadata);
    }

    /// <summary>The mean face-api descriptor of the photos (<see cref="ReferenceFaces"/>), recorded in the identity file when set.</summary>
    public float[]? FaceDescriptor { get; set; }

    public static string EngineVersion { get; } =
        typeof(PersonalizationRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Writes a resumable state file (docs/identity-files.md, "Resuming").</summary>
    public void SaveState(string path) => TrainingState.Write(path, this);

    /// <summary>Continues from a state file written by a run with the same base, photos and settings (iterations may differ).</summary>
    public void LoadState(string path) => TrainingState.Read(path, this, _history, i => Iteration = i);

    public void Dispose()
    {
        Optimizer.Dispose();
        Adapter.Dispose();
        foreach (var p in Photos) p.Dispose();
    }
}
