namespace PFStorer.Graph.Models;

/// <summary>
/// EncoderUNetModelWT (time-aware encoder) hyper-parameters. Its AttentionBlocks have NumHeads heads, or
/// ch / NumHeadChannels when that is set; UseNewAttentionOrder picks QKVAttention over the legacy split.
/// </summary>
public sealed record StructCondConfig(
    int InChannels, int ModelChannels, int OutChannels, int[] ChannelMult, int NumResBlocks, int[] AttentionResolutions, int NumHeads)
{
    public int NumHeadChannels { get; init; } = -1;
    public bool UseNewAttentionOrder { get; init; }

    public int TimeEmbedDim => 4 * ModelChannels;

    public int HeadsFor(int channels) => NumHeadChannels == -1 ? NumHeads : channels / NumHeadChannels;

    /// <summary>Reads `structcond_stage_config.params`; refuses the options the engine does not build.</summary>
    internal static StructCondConfig Read(ConfigSection s)
    {
        s.Expect("use_scale_shift_norm", false, false, "time embeddings are added, not applied as scale and shift");
        s.Expect("resblock_updown", false, false, "resampling is by Downsample layers");
        s.Expect("conv_resample", true, true, "resampling layers are convolutions");
        s.Expect("dims", 2, 2, "the encoder is 2-D");
        s.Expect("dropout", 0f, 0f, "the engine has no dropout");
        var cfg = new StructCondConfig(
            s.Int("in_channels"), s.Int("model_channels"), s.Int("out_channels"), s.Ints("channel_mult", [1, 2, 4, 8]),
            s.Int("num_res_blocks"), s.Ints("attention_resolutions"), s.Int("num_heads", 1))
        {
            NumHeadChannels = s.Int("num_head_channels", -1),
            UseNewAttentionOrder = s.Bool("use_new_attention_order", false),
        };
        foreach (int ch in cfg.ChannelMult.Select(m => m * cfg.ModelChannels))
            if (cfg.HeadsFor(ch) <= 0 || ch % cfg.HeadsFor(ch) != 0 || (cfg.NumHeadChannels != -1 && ch % cfg.NumHeadChannels != 0))
                throw s.Error(cfg.NumHeadChannels == -1 ? "num_heads" : "num_head_channels", $"does not split {ch} channels into whole heads");
        return cfg;
    }
}
