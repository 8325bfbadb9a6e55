using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE Decoder: conv_in; mid block_1, attn_1, block_2; levels from the deepest up, each num_res_blocks + 1
/// ResnetBlocks (each followed by an AttnBlock at the attn_resolutions) and an Upsample (not after level 0);
/// norm_out, SiLU, conv_out. With CFW it is Decoder_Mix: after the blocks of each inner level l and before its
/// Upsample, h = fusion_layer_l(enc_fea[l−1], h, w), each fusion layer with num_fuse_block RRDBs.
/// </summary>
public sealed class Decoder : Module
{
    public VaeConfig Config { get; }
    public Conv2d ConvIn { get; }
    public ResnetBlock MidBlock1 { get; }
    public AttnBlock MidAttn1 { get; }
    public ResnetBlock MidBlock2 { get; }
    /// <summary>Indexed by level (0 = full resolution), as upstream's `up` list.</summary>
    public IReadOnlyList<IReadOnlyList<ResnetBlock>> Blocks { get; }
    /// <summary>Indexed by level: one AttnBlock after each ResnetBlock at an attention resolution, else none.</summary>
    public IReadOnlyList<IReadOnlyList<AttnBlock>> Attentions { get; }
    /// <summary>Indexed by level; null at level 0.</summary>
    public IReadOnlyList<Upsample?> Upsamples { get; }
    /// <summary>Indexed by level; present only for the inner levels of a CFW decoder.</summary>
    public IReadOnlyList<FuseSftBlockRrdb?> FusionLayers { get; }
    public GroupNorm NormOut { get; }
    public Conv2d ConvOut { get; }
    public bool HasCfw { get; }

    public Decoder(VaeConfig cfg, bool cfw)
    {
        Config = cfg;
        HasCfw = cfw;
        int levels = cfg.ChMult.Length;
        int blockIn = cfg.Ch * cfg.ChMult[^1];
        ConvIn = Child("conv_in", Conv2d.Same3x3(cfg.ZChannels, blockIn));
        MidBlock1 = Child("mid.block_1", new ResnetBlock(blockIn, blockIn));
        MidAttn1 = Child("mid.attn_1", new AttnBlock(blockIn));
        MidBlock2 = Child("mid.block_2", new ResnetBlock(blockIn, blockIn));

        var blocks = new IReadOnlyList<ResnetBlock>[levels];
        var attentions = new IReadOnlyList<AttnBlock>[levels];
        var ups = new Upsample?[levels];
        var fusions = new FuseSftBlockRrdb?[levels];
        int resolution = cfg.Resolution >> (levels - 1);
        for (int level = levels - 1; level >= 0; level--)
        {
            int blockOut = cfg.Ch * cfg.ChMult[level];
            if (cfw && Encoder.IsFusionLevel(level, levels)) fusions[level] = Child($"fusion_layer_{level}", new FuseSftBlockRrdb(blockOut, cfg.NumFuseBlock));
            var levelBlocks = new List<ResnetBlock>();
            var levelAttentions = new List<AttnBlock>();
            for (int b = 0; b <= cfg.NumResBlocks; b++)
            {
                levelBlocks.Add(Child($"up.{level}.block.{b}", new ResnetBlock(blockIn, blockOut)));
                blockIn = blockOut;
                if (cfg.HasAttention(resolution)) levelAttentions.Add(Child($"up.{level}.attn.{b}", new AttnBlock(blockIn)));
            }
            blocks[level] = levelBlocks;
            attentions[level] = levelAttentions;
            if (level != 0)
            {
                ups[level] = Child($"up.{level}.upsample", new Upsample(blockIn));
                resolution *= 2;
            }
        }
        Blocks = blocks;
        Attentions = attentions;
        Upsamples = ups;
        FusionLayers = fusions;
        NormOut = Child("norm_out", new GroupNorm(blockIn, 1e-6f));
        ConvOut = Child("conv_out", Conv2d.Same3x3(blockIn, cfg.OutCh));
    }

    /// <summary>z [B,z,h,w] (after post_quant_conv) → image [B,3,8h,8w]. CFW needs the encoder features and the weight w.</summary>
    public Tensor Forward(Tensor z, IReadOnlyList<Tensor>? cfwFeatures = null, float fusionWeight = 0f)
    {
        if (HasCfw && cfwFeatures == null) throw new ArgumentException("the CFW decoder needs the encoder features (enc_fea)");
        var h = ConvIn.Forward(z);
        using (var prev = h) h = MidBlock1.Forward(prev);
        using (var prev = h) h = MidAttn1.Forward(prev);
        using (var prev = h) h = MidBlock2.Forward(prev);
        for (int level = Blocks.Count - 1; level >= 0; level--)
        {
            for (int b = 0; b < Blocks[level].Count; b++)
            {
                using (var prev = h) h = Blocks[level][b].Forward(prev);
                if (Attentions[level].Count == 0) continue;
                using (var prev = h) h = Attentions[level][b].Forward(prev);
            }
            if (FusionLayers[level] is { } fuse)
            {
                using var prev = h;
                h = fuse.Forward(cfwFeatures![level - 1], prev, fusionWeight);
            }
            if (Upsamples[level] is { } up)
            {
                using var prev = h;
                h = up.Forward(prev);
            }
        }
        using (h)
        using (var n = NormOut.Forward(h, silu: true))
            return ConvOut.Forward(n);
    }
}
