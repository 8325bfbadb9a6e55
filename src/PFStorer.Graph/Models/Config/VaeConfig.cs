namespace PFStorer.Graph.Models;

/// <summary>
/// A VAE's ddconfig plus its embed_dim, shared by AutoencoderKL and the CFW AutoencoderKLResi. Attention sits after
/// every ResnetBlock of the levels whose resolution (Resolution halved per level) is in AttnResolutions, besides
/// the middle one. NumFuseBlock and FusionWeight only matter to a CFW decoder (Decoder_Mix).
/// </summary>
public sealed record VaeConfig(
    int Ch, int[] ChMult, int NumResBlocks, int[] AttnResolutions, int Resolution, int InChannels, int OutCh, int ZChannels, int EmbedDim)
{
    /// <summary>RRDBs in each CFW fusion layer (Decoder_Mix's num_fuse_block).</summary>
    public int NumFuseBlock { get; init; } = 2;
    /// <summary>The CFW fusion weight w a decode uses when the caller gives none (AutoencoderKLResi's fusion_w).</summary>
    public float FusionWeight { get; init; } = 1f;

    /// <summary>Whether the level with this resolution has attention after each of its ResnetBlocks.</summary>
    public bool HasAttention(int resolution) => AttnResolutions.Contains(resolution);

    /// <summary>Reads an autoencoder's `params` (ddconfig and embed_dim); <paramref name="cfw"/> adds the AutoencoderKLResi keys.</summary>
    internal static VaeConfig Read(ConfigSection autoencoder, bool cfw)
    {
        var dd = autoencoder.Section("ddconfig");
        dd.Expect("double_z", true, true, "the encoder outputs a mean and a log-variance");
        dd.Expect("resamp_with_conv", true, true, "resampling layers are convolutions");
        dd.Expect("dropout", 0f, 0f, "the engine has no dropout");
        dd.Expect("use_linear_attn", false, false, "attention is the vanilla AttnBlock");
        dd.Expect("attn_type", "vanilla", "vanilla", "attention is the vanilla AttnBlock");
        dd.Expect("give_pre_end", false, false, "the decoder ends with norm_out and conv_out");
        dd.Expect("tanh_out", false, false, "the decoder output is not squashed");
        var cfg = new VaeConfig(
            dd.Int("ch"), dd.Ints("ch_mult", [1, 2, 4, 8]), dd.Int("num_res_blocks"), dd.Ints("attn_resolutions"), dd.Int("resolution"),
            dd.Int("in_channels"), dd.Int("out_ch"), dd.Int("z_channels"), autoencoder.Int("embed_dim"));
        if (!cfw) return cfg;
        // Upstream's encoder hands the decoder the features of levels 1 and 2 only, so deeper VAEs cannot fuse.
        if (cfg.ChMult.Length > 4) throw dd.Error("ch_mult", $"has {cfg.ChMult.Length} levels; a CFW VAE has at most 4 (its encoder returns the features of levels 1 and 2 only)");
        // AutoencoderKLResi overwrites Decoder_Mix's own fusion_w with its parameter, so ddconfig.fusion_w never counts.
        return cfg with { NumFuseBlock = dd.Int("num_fuse_block", 2), FusionWeight = autoencoder.Float("fusion_w", 1f) };
    }
}
