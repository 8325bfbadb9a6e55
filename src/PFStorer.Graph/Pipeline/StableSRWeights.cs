using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;

namespace PFStorer.Graph.Pipeline;

/// <summary>Weights that are absent, unreadable or not a StableSR checkpoint; the message names the file and what is wrong.</summary>
public sealed class WeightsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The loaded networks of a restoration: LatentDiffusionSRTextWT from the main checkpoint (stablesr_000117.ckpt layout)
/// and the CFW VAE from its own file (vqgan_cfw_00011.ckpt layout). A config.json beside the main checkpoint (as the
/// tiny demo model ships) overrides the released 512 model's hyper-parameters.
/// </summary>
public sealed class StableSRWeights : IDisposable
{
    public const string ReadmeHint = "see weights/README.md for which files to download and where to put them";

    public StableSRConfig Config { get; }
    public LatentDiffusionSRTextWT Model { get; }
    public AutoencoderKL CfwVae { get; }

    public StableSRWeights(StableSRConfig config, LatentDiffusionSRTextWT model, AutoencoderKL cfwVae)
    {
        Config = config;
        Model = model;
        CfwVae = cfwVae;
    }

    /// <summary>The hyper-parameters a checkpoint is read with: config.json beside it when there is one, else the released 512 model.</summary>
    public static StableSRConfig ConfigFor(string modelPath)
    {
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "config.json");
        return File.Exists(configPath) ? StableSRConfig.Load(configPath) : StableSRConfig.Full512;
    }

    /// <summary>
    /// Reads both files into networks on <paramref name="device"/> (default the host). On the host f32 tensors are used
    /// in place over the file mapping; on another device every parameter is made there and filled through small host
    /// staging buffers (<see cref="DeviceStaging"/>), so the host never holds the model.
    /// </summary>
    public static StableSRWeights Load(string modelPath, string vaePath, Device? device = null)
    {
        var staging = DeviceStaging.For(device);
        foreach (var (path, what) in new[] { (modelPath, "StableSR checkpoint"), (vaePath, "CFW VAE checkpoint") })
            if (!File.Exists(path)) throw new WeightsException($"{path}: the {what} does not exist; {ReadmeHint}");
        var config = ConfigFor(modelPath);
        var model = new LatentDiffusionSRTextWT(config);
        var vae = new AutoencoderKL(config.CfwVae, cfw: true);
        try
        {
            using (var file = Open(modelPath))
                foreach (var (component, module) in Components(model))
                {
                    Check(modelPath, component, LoadReport.LoadInto(file, module, component, staging: staging));
                    CheckFinite(modelPath, module, component);
                }
            using (var file = Open(vaePath))
            {
                Check(vaePath, StableSRComponent.CfwVae, LoadReport.LoadInto(file, vae, StableSRComponent.CfwVae, staging: staging));
                CheckFinite(vaePath, vae, StableSRComponent.CfwVae);
            }
        }
        catch
        {
            model.Dispose();
            vae.Dispose();
            throw;
        }
        return new StableSRWeights(config, model, vae);
    }

    /// <summary>The networks of the main checkpoint, each with the component its keys are routed to.</summary>
    public static (StableSRComponent Component, Modules.Module Module)[] Components(LatentDiffusionSRTextWT model) =>
    [
        (StableSRComponent.Unet, model.DiffusionModel), (StableSRComponent.TimeAwareEncoder, model.StructCondStageModel),
        (StableSRComponent.Vae, model.FirstStageModel), (StableSRComponent.TextEncoder, model.CondStageModel),
    ];

    private static Checkpoint Open(string path)
    {
        try { return Checkpoint.Open(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new WeightsException($"{path}: cannot be read as a checkpoint ({e.Message}); {ReadmeHint}", e);
        }
    }

    // Unexpected keys are tolerated (upstream loads with strict=False); missing or mis-shaped ones are not.
    private static void Check(string path, StableSRComponent component, LoadReport report)
    {
        if (report.Missing.Count == 0 && report.Mismatched.Count == 0) return;
        var lines = report.Missing.Take(20).Select(m => $"  missing     {m}")
            .Concat(report.Mismatched.Take(20).Select(m => $"  mismatched  {m}"));
        int more = report.Missing.Count + report.Mismatched.Count - lines.Count();
        throw new WeightsException($"{path}: not a complete {component} checkpoint ({report.Missing.Count} missing, {report.Mismatched.Count} mis-shaped keys):\n"
            + string.Join('\n', lines) + (more > 0 ? $"\n  … and {more} more" : "") + $"\n{ReadmeHint}");
    }

    /// <summary>A NaN or Inf anywhere in the weights turns every output into garbage (an all-black image): refuse the file.</summary>
    private static void CheckFinite(string path, Modules.Module module, StableSRComponent component)
    {
        var bad = module.NamedParameters(StableSRKeyMap.PrefixOf(component))
            .Where(p => p.Param.Value is { } v && !SurelyFinite(v))
            .Select(p => (p.Path, Counts: Counts(p.Param.Value!)))
            .Where(p => p.Counts.NonFinite > 0).ToList();
        if (bad.Count == 0) return;
        throw new WeightsException($"{path}: {bad.Count} tensor(s) hold non-finite values, so the checkpoint is damaged: "
            + string.Join("; ", bad.Take(5).Select(b => $"'{b.Path}' {b.Counts}")) + (bad.Count > 5 ? $"; … and {bad.Count - 5} more" : "")
            + $" (`pfstorer weights verify {path}` lists them all); {ReadmeHint}");
    }

    /// <summary>
    /// A device tensor is screened with one sum on the device, so its values need not cross the bus: NaN and ±Inf
    /// always make the sum non-finite. Finite values can overflow it too, so a non-finite sum is only a suspicion that
    /// <see cref="Counts"/> settles. Host tensors are counted directly.
    /// </summary>
    private static bool SurelyFinite(Tensor t)
    {
        if (t.Device == Device.Cpu) return false;
        using var sum = F.Sum(t);
        using var host = sum.To(Device.Cpu);
        return float.IsFinite(host.Span<float>()[0]);
    }

    private static ValueCounts Counts(Tensor t)
    {
        if (t.Device == Device.Cpu) return TensorValues.Count(t.Span<float>());
        using var host = t.To(Device.Cpu);
        return TensorValues.Count(host.Span<float>());
    }

    /// <summary>Moves every loaded parameter to <paramref name="device"/> (host copies are released as each one moves).</summary>
    public void MoveTo(Device device)
    {
        Model.MoveTo(device);
        CfwVae.MoveTo(device);
    }

    public void Dispose()
    {
        Model.Dispose();
        CfwVae.Dispose();
    }
}
