using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Checkpoints;

/// <summary>The engine parts a StableSR checkpoint feeds.</summary>
public enum StableSRComponent { Unet, TimeAwareEncoder, Vae, TextEncoder, CfwVae, Schedule }

/// <summary>Where one checkpoint key goes: a component and the parameter path inside it, or nowhere (ignored / unmapped).</summary>
public readonly record struct KeyRoute(StableSRComponent? Component, string LocalKey, bool Ignored)
{
    public bool IsMapped => Component != null;
}

/// <summary>
/// The one explicit table from StableSR checkpoint keys to engine components (docs/architecture.md, "Loading weights"). The main checkpoint
/// (stablesr_000117.ckpt) prefixes each sub-model; the CFW checkpoint (vqgan_cfw_00011.ckpt) has no prefix, so its
/// roots encoder./decoder./quant_conv./post_quant_conv. are kept in the local key, exactly as the VAE module names
/// them below first_stage_model. A module's NamedParameters() paths equal the local keys.
/// </summary>
public static class StableSRKeyMap
{
    /// <summary>(checkpoint prefix, component, whether the prefix is part of the module path), longest prefixes first.</summary>
    public static IReadOnlyList<(string Prefix, StableSRComponent Component, bool KeepPrefix)> Prefixes { get; } =
    [
        ("model.diffusion_model.", StableSRComponent.Unet, false),
        ("structcond_stage_model.", StableSRComponent.TimeAwareEncoder, false),
        ("first_stage_model.", StableSRComponent.Vae, false),
        ("cond_stage_model.model.", StableSRComponent.TextEncoder, false),
        ("post_quant_conv.", StableSRComponent.CfwVae, true),
        ("quant_conv.", StableSRComponent.CfwVae, true),
        ("encoder.", StableSRComponent.CfwVae, true),
        ("decoder.", StableSRComponent.CfwVae, true),
    ];

    /// <summary>The diffusion schedule buffers LatentDiffusion registers (each [1000]), stored without prefix.</summary>
    public static IReadOnlyList<string> ScheduleBuffers { get; } =
    [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    ];

    /// <summary>Training-only weights (the CFW file's LPIPS/discriminator loss) and buffers that are recomputed.</summary>
    public static IReadOnlyList<string> IgnoredPrefixes { get; } = ["loss."];
    public static IReadOnlyList<string> IgnoredKeys { get; } = ["cond_stage_model.model.attn_mask"];

    public static KeyRoute Route(string key)
    {
        if (IgnoredKeys.Contains(key) || IgnoredPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
            return new KeyRoute(null, key, Ignored: true);
        if (ScheduleBuffers.Contains(key)) return new KeyRoute(StableSRComponent.Schedule, key, false);
        foreach (var (prefix, component, keep) in Prefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal))
                return new KeyRoute(component, keep ? key : key[prefix.Length..], false);
        return new KeyRoute(null, key, false);
    }

    /// <summary>What goes before a module path to make the checkpoint key.</summary>
    public static string PrefixOf(StableSRComponent component) => component switch
    {
        StableSRComponent.CfwVae or StableSRComponent.Schedule => "",
        _ => Prefixes.First(p => p.Component == component).Prefix,
    };

    /// <summary>The (checkpoint key, shape) pairs a module expects for <paramref name="component"/>.</summary>
    public static IEnumerable<KeyShape> ExpectedKeys(Module module, StableSRComponent component) =>
        module.NamedParameters(PrefixOf(component)).Select(p => new KeyShape(p.Path, p.Param.ShapeArray()));

    /// <summary>The components a checkpoint has keys for (e.g. the main file: all but CfwVae; the CFW file: CfwVae).</summary>
    public static IReadOnlySet<StableSRComponent> ComponentsIn(Checkpoint checkpoint) =>
        checkpoint.Tensors.Select(t => Route(t.Name).Component).OfType<StableSRComponent>().ToHashSet();
}
