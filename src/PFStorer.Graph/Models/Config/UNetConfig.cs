namespace PFStorer.Graph.Models;

/// <summary>
/// UNetModelDualcondV2 hyper-parameters. NumResBlocks has one entry per level. Heads: ch / NumHeadChannels, or
/// NumHeads when that is −1. The init-only options keep upstream's defaults (docs/config.md).
/// </summary>
public sealed record UNetConfig(
    int InChannels, int OutChannels, int ModelChannels, int[] ChannelMult, int[] NumResBlocks, int[] AttentionResolutions,
    int NumHeads, int NumHeadChannels, int TransformerDepth, int ContextDim, int SembChannels)
{
    /// <summary>proj_in / proj_out of the transformers are Linear layers rather than 1×1 convs.</summary>
    public bool UseLinearInTransformer { get; init; }
    /// <summary>Per level: the transformers' attn1 attends to the text context instead of to themselves.</summary>
    public bool[]? DisableSelfAttentions { get; init; }
    public bool DisableMiddleSelfAttn { get; init; }
    /// <summary>Per level: only the first n ResBlocks of a level (in the encoder and the decoder) get a transformer.</summary>
    public int[]? NumAttentionBlocks { get; init; }

    public int TimeEmbedDim => 4 * ModelChannels;

    public (int Heads, int DimHead) HeadsFor(int channels) => NumHeadChannels == -1
        ? (NumHeads, channels / NumHeads)
        : (channels / NumHeadChannels, NumHeadChannels);

    /// <summary>Whether block <paramref name="index"/> of <paramref name="level"/> (downsampling factor <paramref name="ds"/>) holds a transformer.</summary>
    public bool HasTransformer(int level, int index, int ds) =>
        AttentionResolutions.Contains(ds) && (NumAttentionBlocks is not { } n || index < n[level]);

    public bool SelfAttentionDisabled(int level) => DisableSelfAttentions?[level] ?? false;

    /// <summary>Reads `unet_config.params`; refuses the options the engine does not build.</summary>
    internal static UNetConfig Read(ConfigSection s)
    {
        s.Expect("use_spatial_transformer", true, false, "the UNet conditions on text through spatial transformers");
        s.Expect("use_scale_shift_norm", false, false, "time embeddings are added, not applied as scale and shift");
        s.Expect("resblock_updown", false, false, "resampling is by Downsample/Upsample layers");
        s.Expect("conv_resample", true, true, "resampling layers are convolutions");
        s.Expect("dims", 2, 2, "the UNet is 2-D");
        s.Expect("dropout", 0f, 0f, "the engine has no dropout");
        s.ExpectNull("num_classes", "the UNet is not class-conditional");
        s.ExpectNull("n_embed", "the UNet predicts noise, not codebook ids");
        if (s.IsList("context_dim")) throw s.Error("context_dim", "as a list is not supported (one text context for every transformer)");

        var mult = s.Ints("channel_mult", [1, 2, 4, 8]);
        int levels = mult.Length;
        var cfg = new UNetConfig(
            s.Int("in_channels"), s.Int("out_channels"), s.Int("model_channels"), mult, s.IntPerLevel("num_res_blocks", levels),
            s.Ints("attention_resolutions"), s.Int("num_heads", -1), s.Int("num_head_channels", -1), s.Int("transformer_depth", 1),
            s.Int("context_dim"), s.Int("semb_channels"))
        {
            UseLinearInTransformer = s.Bool("use_linear_in_transformer", false),
            DisableSelfAttentions = s.BoolsOrNull("disable_self_attentions"),
            DisableMiddleSelfAttn = s.Bool("disable_middle_self_attn", false),
            NumAttentionBlocks = s.IntsOrNull("num_attention_blocks"),
        };
        if (cfg.NumHeads == -1 && cfg.NumHeadChannels == -1) throw s.Error("num_heads", "and num_head_channels are both −1; one must be set");
        if (cfg.DisableSelfAttentions is { } d && d.Length != levels) throw s.Error("disable_self_attentions", $"has {d.Length} entries for {levels} levels");
        if (cfg.NumAttentionBlocks is { } n && (n.Length != levels || n.Where((v, l) => v > cfg.NumResBlocks[l]).Any()))
            throw s.Error("num_attention_blocks", "needs one entry per level, none above that level's num_res_blocks");
        // Upstream's proj_out is only shape-consistent when the heads tile the channels exactly.
        foreach (int ch in mult.Select(m => m * cfg.ModelChannels))
        {
            var (heads, dimHead) = cfg.HeadsFor(ch);
            if (heads <= 0 || heads * dimHead != ch)
                throw s.Error(cfg.NumHeadChannels == -1 ? "num_heads" : "num_head_channels", $"does not split {ch} channels into whole heads");
        }
        return cfg;
    }
}
