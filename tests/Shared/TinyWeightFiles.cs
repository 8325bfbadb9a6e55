using PFStorer.Graph.Checkpoints;

namespace PFStorer.Tests;

/// <summary>
/// The stablesr-tiny checkpoints (model and CFW VAE, with config.json beside them) rewritten in another float dtype,
/// in a temporary folder deleted on dispose; f32 is the fixture itself.
/// </summary>
public sealed class TinyWeightFiles : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pfstorer-tiny-").FullName;

    public static string Fixture(string file) => Fixtures.Path("stablesr-tiny", file);

    /// <summary>The (model, vae) paths in <paramref name="dtype"/>, written on first use.</summary>
    public (string Model, string Vae) In(CheckpointDType dtype)
    {
        if (dtype == CheckpointDType.F32) return (Fixture("model.safetensors"), Fixture("vae_cfw.safetensors"));
        string dir = Path.Combine(_dir, dtype.ToString());
        lock (_dir)
            if (!Directory.Exists(dir))
            {
                string partial = dir + ".partial";
                Directory.CreateDirectory(partial);
                File.Copy(Fixture("config.json"), Path.Combine(partial, "config.json"));
                foreach (var file in new[] { "model.safetensors", "vae_cfw.safetensors" })
                    using (var source = Checkpoint.Open(Fixture(file)))
                        CheckpointConversion.ToSafetensors(source, Path.Combine(partial, file), dtype);
                Directory.Move(partial, dir);
            }
        return (Path.Combine(dir, "model.safetensors"), Path.Combine(dir, "vae_cfw.safetensors"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
