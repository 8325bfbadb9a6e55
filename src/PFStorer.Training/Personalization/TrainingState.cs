using System.Globalization;
using System.Text.Json;
using PFStorer.Graph;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Modules;

namespace PFStorer.Training.Personalization;

/// <summary>A state file that cannot resume this run; the message names the file and what differs.</summary>
public sealed class TrainingStateException(string message) : Exception(message);

/// <summary>
/// The resumable state of a personalization run (docs/identity-files.md, "Resuming"): a safetensors file with the
/// adapter's values, AdamW's moments ("adamw.m.…", "adamw.v.…") and metadata — iterations done, AdamW's step count,
/// the loss history (round-trip decimals), the settings, the base fingerprint and the photos' names and content hashes.
/// Everything an iteration draws comes from (seed, iteration), so this is all a resume needs to continue bit for bit.
/// </summary>
internal static class TrainingState
{
    private const string Format = "pfstorer-personalize-state/1";

    public static void Write(string path, PersonalizationRun run)
    {
        var names = run.Adapter.NamedParameters().ToDictionary<(string Path, Parameter Param), Parameter, string>(p => p.Param, p => p.Path, ReferenceEqualityComparer.Instance);
        var tensors = run.Adapter.NamedParameters().Select(p => (p.Path, p.Param.Tensor))
            .Concat(run.Optimizer.Moments().SelectMany(m => new[] { ($"adamw.m.{names[m.Parameter]}", m.M), ($"adamw.v.{names[m.Parameter]}", m.V) }));
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string>
        {
            ["format"] = Format,
            ["iteration"] = run.Iteration.ToString(CultureInfo.InvariantCulture),
            ["adamw_steps"] = run.Optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
            ["history"] = JsonSerializer.Serialize(run.History.Select(h => new[] { R(h.Diff), R(h.Gen), R(h.Pers), R(h.Total) })),
            ["settings"] = SettingsWithoutIterations(run.Settings),
            ["base_fingerprint"] = run.BaseFingerprint,
            ["photos"] = PhotosKey(run),
        });
    }

    public static void Read(string path, PersonalizationRun run, List<LossParts> history, Action<int> setIteration)
    {
        if (!File.Exists(path)) throw new TrainingStateException($"{path}: no state file to resume from");
        using var file = Checkpoint.Open(path);
        var meta = file.Metadata;
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : throw new TrainingStateException($"{path}: not a personalization state file ('{key}' is missing)");
        if (Get("format") != Format) throw new TrainingStateException($"{path}: not a personalization state file (format '{meta["format"]}')");
        Check(path, "base model", Get("base_fingerprint"), run.BaseFingerprint);
        Check(path, "photos", Get("photos"), PhotosKey(run));
        Check(path, "settings", Get("settings"), SettingsWithoutIterations(run.Settings));
        int iteration = int.Parse(Get("iteration"), CultureInfo.InvariantCulture);
        if (iteration > run.Settings.Iterations) throw new TrainingStateException($"{path}: already holds {iteration} iterations, more than the {run.Settings.Iterations} asked for");

        var byName = run.Adapter.NamedParameters().ToDictionary(p => p.Path, p => p.Param);
        foreach (var (name, p) in byName) p.Assign(Load(file, path, name, p));
        var moments = new List<(Parameter, Tensor, Tensor)>();
        foreach (var (name, p) in byName)
            if (file.Contains($"adamw.m.{name}"))
                moments.Add((p, Load(file, path, $"adamw.m.{name}", p), Load(file, path, $"adamw.v.{name}", p)));
        run.Optimizer.LoadState(int.Parse(Get("adamw_steps"), CultureInfo.InvariantCulture), moments);
        history.Clear();
        history.AddRange(JsonSerializer.Deserialize<string[][]>(Get("history"))!.Select(h =>
            new LossParts(D(h[0]), D(h[1]), D(h[2]), D(h[3]))));
        setIteration(iteration);
    }

    private static Tensor Load(Checkpoint file, string path, string name, Parameter p)
    {
        if (!file.TryGet(name, out var info) || !info.Shape.SequenceEqual(p.Shape))
            throw new TrainingStateException($"{path}: tensor '{name}' is missing or not {p.ShapeString}");
        using var t = file.Load(name, Kernels.DType.F32);
        return t.To(p.Tensor.Device);
    }

    private static void Check(string path, string what, string saved, string now)
    {
        if (saved != now) throw new TrainingStateException($"{path}: was made with other {what} ({saved}) than this run ({now}); start again without --resume");
    }

    private static string SettingsWithoutIterations(PersonalizeSettings s) => (s with { Iterations = 1 }).ToJson();

    private static string PhotosKey(PersonalizationRun run) => JsonSerializer.Serialize(run.Photos.Select(p =>
        $"{p.Name}:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Image.F32.AsSpan())), 0, 8)}"));

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
