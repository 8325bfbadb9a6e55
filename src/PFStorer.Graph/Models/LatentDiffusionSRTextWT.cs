using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The networks of StableSR's LatentDiffusionSRTextWT under their checkpoint prefixes: `model.diffusion_model`
/// (UNet with SFT), `structcond_stage_model` (time-aware encoder), `first_stage_model` (SD VAE) and
/// `cond_stage_model.model` (OpenCLIP text tower). NamedParameters() are the checkpoint keys except the 12 schedule
/// buffers, which the sampler derives itself.
/// </summary>
public sealed class LatentDiffusionSRTextWT : Module
{
    public StableSRConfig Config { get; }
    public UNetModelDualcondV2 DiffusionModel { get; }
    public EncoderUNetModelWT StructCondStageModel { get; }
    public AutoencoderKL FirstStageModel { get; }
    public OpenClipTextTransformer CondStageModel { get; }

    public LatentDiffusionSRTextWT(StableSRConfig cfg)
    {
        Config = cfg;
        DiffusionModel = Child("model.diffusion_model", new UNetModelDualcondV2(cfg.UNet));
        StructCondStageModel = Child("structcond_stage_model", new EncoderUNetModelWT(cfg.StructCond));
        FirstStageModel = Child("first_stage_model", new AutoencoderKL(cfg.Vae));
        CondStageModel = Child("cond_stage_model.model", new OpenClipTextTransformer(cfg.Text));
    }
}
