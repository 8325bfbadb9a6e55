using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>What the VAE encoder produced: the moments (quant_conv output) and, for CFW, the encoder features.</summary>
public sealed class VaeEncoding(Tensor moments, IReadOnlyList<Tensor> cfwFeatures) : IDisposable
{
    public Tensor Moments { get; } = moments;
    public IReadOnlyList<Tensor> CfwFeatures { get; } = cfwFeatures;

    public DiagonalGaussian Posterior() => DiagonalGaussian.FromMoments(Moments);

    public void Dispose()
    {
        Moments.Dispose();
        foreach (var f in CfwFeatures) f.Dispose();
    }
}

/// <summary>
/// AutoencoderKL (the SD VAE, `first_stage_model`) and, with <c>cfw</c>, AutoencoderKLResi (the CFW VAE: Decoder_Mix
/// and the encoder's features). Children: encoder, decoder, quant_conv (1×1 2z→2e), post_quant_conv (1×1 e→z).
/// </summary>
public sealed class AutoencoderKL : Module
{
    public VaeConfig Config { get; }
    public Encoder Encoder { get; }
    public Decoder Decoder { get; }
    public Conv2d QuantConv { get; }
    public Conv2d PostQuantConv { get; }

    public AutoencoderKL(VaeConfig cfg, bool cfw = false)
    {
        Config = cfg;
        Encoder = Child("encoder", new Encoder(cfg));
        Decoder = Child("decoder", new Decoder(cfg, cfw));
        QuantConv = Child("quant_conv", Conv2d.Pointwise(2 * cfg.ZChannels, 2 * cfg.EmbedDim));
        PostQuantConv = Child("post_quant_conv", Conv2d.Pointwise(cfg.EmbedDim, cfg.ZChannels));
    }

    /// <summary>x [B,3,H,W] in [−1,1] → moments [B,2e,H/8,W/8] (+ CFW features when this is the CFW VAE).</summary>
    public VaeEncoding Encode(Tensor x)
    {
        var features = Decoder.HasCfw ? new List<Tensor>() : null;
        try
        {
            using var h = Encoder.Forward(x, features);
            return new VaeEncoding(QuantConv.Forward(h), features ?? []);
        }
        catch
        {
            features?.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>
    /// z [B,e,h,w] (unscaled latent) → image. The CFW decoder takes the encoder features and the fusion weight w
    /// (the configured fusion_w when none is given; the restore pipeline always gives its dec_w, as upstream's scripts do).
    /// </summary>
    public Tensor Decode(Tensor z, IReadOnlyList<Tensor>? cfwFeatures = null, float? fusionWeight = null)
    {
        using var h = PostQuantConv.Forward(z);
        return Decoder.Forward(h, cfwFeatures, fusionWeight ?? Config.FusionWeight);
    }

    /// <summary>LatentDiffusion.decode_first_stage: decode(z / scale_factor) for a diffusion-space latent.</summary>
    public Tensor DecodeFirstStage(Tensor scaledLatent, float scaleFactor, IReadOnlyList<Tensor>? cfwFeatures = null, float? fusionWeight = null)
    {
        using var z = F.Scale(scaledLatent, 1f / scaleFactor);
        return Decode(z, cfwFeatures, fusionWeight);
    }
}
