using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;

namespace PFStorer.Graph.Personalization;

/// <summary>An identity file that cannot be used; the message names the file and what is wrong.</summary>
public sealed class IdentityFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// *.pfid.safetensors (docs/identity-files.md): the adapter's tensors under their module paths
/// ("{placement}.personalization.…", "token"), "reference.{i}.mean|std" per training photo, and string metadata:
/// format, base fingerprint, placements, plus what the trainer records (hyper-parameters, loss summary, …).
/// Written atomically through <see cref="SafetensorsWriter"/>.
/// </summary>
public static class IdentityFile
{
    public const string Format = "pfstorer-identity/1";
    public const string FormatKey = "format", FingerprintKey = "base_fingerprint", PlacementsKey = "placements";
    public const string Extension = ".pfid.safetensors";

    public static void Write(string path, PersonalizationAdapter adapter, IReadOnlyList<ReferenceLatent> references,
        string baseFingerprint, IReadOnlyDictionary<string, string> metadata)
    {
        var meta = new Dictionary<string, string>(metadata)
        {
            [FormatKey] = Format,
            [FingerprintKey] = baseFingerprint,
            [PlacementsKey] = string.Join(',', adapter.Blocks.Select(b => b.Placement)),
        };
        var tensors = adapter.NamedParameters().Select(p => (p.Path, p.Param.Tensor))
            .Concat(references.SelectMany((r, i) => new[] { ($"reference.{i}.mean", r.Mean), ($"reference.{i}.std", r.Std) }));
        SafetensorsWriter.Write(path, tensors, meta);
    }

    /// <summary>
    /// Reads an identity for <paramref name="model"/>'s base: refuses a file of another format or another base (naming
    /// both fingerprints), placements the UNet lacks, and tensors missing or mis-shaped. The adapter's weights load
    /// straight onto <paramref name="device"/> (default the host) through host staging buffers, like the base weights
    /// (docs/architecture.md, "Loading weights"); the reference latents stay on the host.
    /// </summary>
    public static Identity Read(string path, LatentDiffusionSRTextWT model, Device? device = null)
    {
        var staging = DeviceStaging.For(device);
        if (!File.Exists(path)) throw new IdentityFileException($"{path}: the identity file does not exist");
        Checkpoint file;
        try { file = Checkpoint.Open(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new IdentityFileException($"{path}: cannot be read as an identity file ({e.Message})", e);
        }
        using (file)
        {
            var meta = file.Metadata;
            if (!meta.TryGetValue(FormatKey, out var format) || format != Format)
                throw new IdentityFileException($"{path}: not a PFStorer identity file (format '{format ?? "none"}', expected '{Format}')");
            string expected = BaseFingerprint.Of(model);
            string made = meta.GetValueOrDefault(FingerprintKey, "none");
            if (made != expected)
                throw new IdentityFileException($"{path}: made for base model {made}, but the loaded base model is {expected} " +
                    "(other architecture or widths); personalize again with these weights");
            var placements = meta.GetValueOrDefault(PlacementsKey, "").Split(',', StringSplitOptions.RemoveEmptyEntries);
            PersonalizationAdapter adapter;
            try { adapter = new PersonalizationAdapter(model.DiffusionModel, Placements.Resolve(string.Join(',', placements), model.DiffusionModel), model.Config.Text.Width); }
            catch (ArgumentException e) { throw new IdentityFileException($"{path}: {e.Message}", e); }
            var references = new List<ReferenceLatent>();
            try
            {
                foreach (var (name, p) in adapter.NamedParameters()) p.Assign(Load(file, path, name, p.ShapeArray(), staging));
                for (int i = 0; file.Contains($"reference.{i}.mean"); i++)
                {
                    var mean = file.Load($"reference.{i}.mean");
                    references.Add(new ReferenceLatent(mean, Load(file, path, $"reference.{i}.std", mean.ShapeArray(), null)));
                }
                if (references.Count == 0) throw new IdentityFileException($"{path}: holds no reference latent");
                int unexpected = file.Tensors.Count - adapter.NamedParameters().Count() - 2 * references.Count;
                if (unexpected != 0) throw new IdentityFileException($"{path}: holds {unexpected} tensors that are neither adapter weights nor reference latents");
                return new Identity(adapter, references, made, meta, Path.GetFileName(path));
            }
            catch
            {
                adapter.Dispose();
                references.ForEach(r => r.Dispose());
                throw;
            }
        }
    }

    private static Tensor Load(Checkpoint file, string path, string name, int[] shape, DeviceStaging? staging)
    {
        if (!file.TryGet(name, out var info)) throw new IdentityFileException($"{path}: tensor '{name}' is missing");
        if (!info.Shape.SequenceEqual(shape))
            throw new IdentityFileException($"{path}: tensor '{name}' is {info.ShapeString}, this base model needs [{string.Join(",", shape)}]");
        return file.Load(name, Kernels.DType.F32, staging);
    }
}
