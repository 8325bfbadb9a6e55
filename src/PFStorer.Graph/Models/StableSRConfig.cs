using System.Text.Json;

namespace PFStorer.Graph.Models;

/// <summary>
/// Every hyper-parameter of LatentDiffusionSRTextWT and of the CFW VAE. <see cref="Full512"/> is the released 512
/// model (configs/stableSRNew/v2-finetune_text_T_512.yaml, the CFW VAE's autoencoder_kl_64x64x4_resi.yaml and
/// open_clip ViT-H-14); <see cref="Load"/> reads a config.json with the upstream key layout. Which keys are honoured,
/// ignored or refused: docs/config.md.
/// </summary>
public sealed record StableSRConfig(UNetConfig UNet, StructCondConfig StructCond, VaeConfig Vae, VaeConfig CfwVae, TextConfig Text, float ScaleFactor)
{
    /// <summary>The training image side in pixels (image_size); the default latent tile of a restoration is an eighth of it.</summary>
    public int ImageSize { get; init; } = 512;

    private static readonly VaeConfig Full512Vae = new(128, [1, 2, 4, 4], 2, [], 512, 3, 3, 4, 4);

    public static StableSRConfig Full512 { get; } = new(
        new UNetConfig(4, 4, 320, [1, 2, 4, 4], [2, 2, 2, 2], [4, 2, 1], NumHeads: -1, NumHeadChannels: 64, TransformerDepth: 1, ContextDim: 1024, SembChannels: 256)
        {
            UseLinearInTransformer = true,
        },
        new StructCondConfig(4, 256, 256, [1, 1, 2, 2], 2, [4, 2, 1], NumHeads: 4),
        Full512Vae,
        Full512Vae,
        TextConfig.VitH14(layerIndex: 1),
        0.18215f);

    /// <summary>
    /// Reads {"model": {params: {unet_config, structcond_stage_config, first_stage_config, cond_stage_config, …}},
    /// optionally "vqgan_cfw_model" (the CFW VAE; else the first stage's ddconfig with CFW defaults) and
    /// "open_clip_text_cfg" (the text tower; else ViT-H-14).
    /// </summary>
    public static StableSRConfig Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = ConfigSection.Root(path, doc.RootElement);
        var model = root.Section("model", "params");
        ExpectStableSRDiffusion(model);

        var firstStage = model.Section("first_stage_config", "params");
        var vae = VaeConfig.Read(firstStage, cfw: false);
        var cfwVae = root.OptionalSection("vqgan_cfw_model") is { } cfw ? VaeConfig.Read(cfw.Section("params"), cfw: true) : vae;
        var unet = UNetConfig.Read(model.Section("unet_config", "params"));
        var structCondSection = model.Section("structcond_stage_config", "params");
        var structCond = StructCondConfig.Read(structCondSection);
        if (structCond.OutChannels != unet.SembChannels)
            throw structCondSection.Error("out_channels", $"= {structCond.OutChannels} differs from unet_config.semb_channels = {unet.SembChannels}");
        var text = TextConfig.Read(model.Section("cond_stage_config", "params"), root.OptionalSection("open_clip_text_cfg"));
        return new StableSRConfig(unet, structCond, vae, cfwVae, text, model.Float("scale_factor", 1f)) { ImageSize = model.Int("image_size", 256) };
    }

    /// <summary>The sampler's schedule and ε prediction are fixed (DiffusionSchedule); a config asking for others is refused.</summary>
    private static void ExpectStableSRDiffusion(ConfigSection model)
    {
        model.Expect("parameterization", "eps", "eps", "the sampler predicts ε");
        model.Expect("beta_schedule", "linear", "linear", "the sampler's schedule is linear");
        model.Expect("timesteps", 1000, 1000, "the sampler's schedule has 1000 steps");
        model.Expect("linear_start", 0.00085f, 0.0001f, "the sampler's schedule starts at β = 0.00085");
        model.Expect("linear_end", 0.012f, 0.02f, "the sampler's schedule ends at β = 0.012");
        model.Expect("conditioning_key", "crossattn", model.Bool("concat_mode", true) ? "concat" : "crossattn", "the text reaches the UNet by cross-attention");
        model.Expect("scale_by_std", false, false, "the latent scale is the configured scale_factor");
    }
}
