using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE Encoder (ldm/modules/diffusionmodules/model.py): conv_in; per level num_res_blocks ResnetBlocks (each
/// followed by an AttnBlock at the attn_resolutions) then a Downsample (not after the last level); mid block_1,
/// attn_1, block_2; norm_out, SiLU, conv_out to 2·z_channels.
/// With CFW it also returns the output of the last block of each inner level (1 and 2 for four levels), taken
/// before that level's Downsample.
/// </summary>
public sealed class Encoder : Module
{
    public VaeConfig Config { get; }
    public Conv2d ConvIn { get; }
    public IReadOnlyList<IReadOnlyList<ResnetBlock>> Blocks { get; }
    /// <summary>Indexed by level: one AttnBlock after each ResnetBlock at an attention resolution, else none.</summary>
    public IReadOnlyList<IReadOnlyList<AttnBlock>> Attentions { get; }
    public IReadOnlyList<VaeDownsample> Downsamples { get; }
    public ResnetBlock MidBlock1 { get; }
    public AttnBlock MidAttn1 { get; }
    public ResnetBlock MidBlock2 { get; }
    public GroupNorm NormOut { get; }
    public Conv2d ConvOut { get; }

    public Encoder(VaeConfig cfg)
    {
        Config = cfg;
        ConvIn = Child("conv_in", Conv2d.Same3x3(cfg.InChannels, cfg.Ch));
        var blocks = new List<IReadOnlyList<ResnetBlock>>();
        var attentions = new List<IReadOnlyList<AttnBlock>>();
        var downs = new List<VaeDownsample>();
        int blockIn = cfg.Ch, resolution = cfg.Resolution;
        for (int level = 0; level < cfg.ChMult.Length; level++)
        {
            int blockOut = cfg.Ch * cfg.ChMult[level];
            var levelBlocks = new List<ResnetBlock>();
            var levelAttentions = new List<AttnBlock>();
            for (int b = 0; b < cfg.NumResBlocks; b++)
            {
                levelBlocks.Add(Child($"down.{level}.block.{b}", new ResnetBlock(blockIn, blockOut)));
                blockIn = blockOut;
                if (cfg.HasAttention(resolution)) levelAttentions.Add(Child($"down.{level}.attn.{b}", new AttnBlock(blockIn)));
            }
            blocks.Add(levelBlocks);
            attentions.Add(levelAttentions);
            if (level != cfg.ChMult.Length - 1)
            {
                downs.Add(Child($"down.{level}.downsample", new VaeDownsample(blockIn)));
                resolution /= 2;
            }
        }
        Blocks = blocks;
        Attentions = attentions;
        Downsamples = downs;
        MidBlock1 = Child("mid.block_1", new ResnetBlock(blockIn, blockIn));
        MidAttn1 = Child("mid.attn_1", new AttnBlock(blockIn));
        MidBlock2 = Child("mid.block_2", new ResnetBlock(blockIn, blockIn));
        NormOut = Child("norm_out", new GroupNorm(blockIn, 1e-6f));
        ConvOut = Child("conv_out", Conv2d.Same3x3(blockIn, 2 * cfg.ZChannels));
    }

    /// <summary>Levels whose features feed CFW: all but the first and the last (the decoder fuses at the same ones).</summary>
    public static bool IsFusionLevel(int level, int levels) => level > 0 && level < levels - 1;

    /// <summary>x [B,3,H,W] in [−1,1] → h [B,2z,H/f,W/f]; <paramref name="cfwFeatures"/> gets one tensor per fusion level, in level order.</summary>
    public Tensor Forward(Tensor x, List<Tensor>? cfwFeatures = null)
    {
        var h = ConvIn.Forward(x);
        for (int level = 0; level < Blocks.Count; level++)
        {
            for (int b = 0; b < Blocks[level].Count; b++)
            {
                using (var prev = h) h = Blocks[level][b].Forward(prev);
                if (Attentions[level].Count == 0) continue;
                using (var prev = h) h = Attentions[level][b].Forward(prev);
            }
            if (level < Downsamples.Count)
            {
                var prev = h;
                h = Downsamples[level].Forward(prev);
                // A fusion level is never the last, so its feature is always the tensor entering a Downsample.
                if (cfwFeatures != null && IsFusionLevel(level, Blocks.Count)) cfwFeatures.Add(prev);
                else prev.Dispose();
            }
        }
        using (var prev = h) h = MidBlock1.Forward(prev);
        using (var prev = h) h = MidAttn1.Forward(prev);
        using (var prev = h) h = MidBlock2.Forward(prev);
        using (h)
        using (var n = NormOut.Forward(h, silu: true))
            return ConvOut.Forward(n);
    }
}
