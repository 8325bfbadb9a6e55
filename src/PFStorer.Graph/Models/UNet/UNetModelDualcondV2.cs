using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// StableSR's denoiser (openaimodel.UNetModelDualcondV2): the SD-2.1 UNet with a SPADE in every ResBlock, fed by the
/// time-aware encoder's features. forward(x, t, context, struct_cond) → ε; skips concatenated h-first in the decoder.
/// </summary>
public sealed class UNetModelDualcondV2 : Module
{
    public UNetConfig Config { get; }
    public TimestepEmbedder TimeEmbed { get; }
    public IReadOnlyList<TimestepEmbedSequential> InputBlocks { get; }
    public TimestepEmbedSequential MiddleBlock { get; }
    public IReadOnlyList<TimestepEmbedSequential> OutputBlocks { get; }
    public GroupNorm OutNorm { get; }
    public Conv2d OutConv { get; }

    /// <summary>
    /// Recompute each ResBlock and BasicTransformerBlock in backward instead of keeping its activations (gradient
    /// checkpointing, docs/personalization.md "Memory"). Affects only forwards that record a tape.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    public UNetModelDualcondV2(UNetConfig cfg)
    {
        Config = cfg;
        int emb = cfg.TimeEmbedDim, semb = cfg.SembChannels;
        TimeEmbed = Child("time_embed", new TimestepEmbedder(cfg.ModelChannels, emb));

        SpatialTransformer Transformer(int ch, bool disableSelfAttn)
        {
            var (heads, dimHead) = cfg.HeadsFor(ch);
            return new SpatialTransformer(ch, heads, dimHead, cfg.TransformerDepth, cfg.ContextDim, cfg.UseLinearInTransformer, disableSelfAttn);
        }

        var input = new List<TimestepEmbedSequential> { new(Conv2d.Same3x3(cfg.InChannels, cfg.ModelChannels)) };
        var skipChannels = new Stack<int>([cfg.ModelChannels]);
        int ch = cfg.ModelChannels, ds = 1;
        for (int level = 0; level < cfg.ChannelMult.Length; level++)
        {
            for (int i = 0; i < cfg.NumResBlocks[level]; i++)
            {
                int outCh = cfg.ChannelMult[level] * cfg.ModelChannels;
                var block = new TimestepEmbedSequential(ResBlock.Dual(ch, emb, outCh, semb));
                ch = outCh;
                if (cfg.HasTransformer(level, i, ds)) block.Add(Transformer(ch, cfg.SelfAttentionDisabled(level)));
                input.Add(block);
                skipChannels.Push(ch);
            }
            if (level != cfg.ChannelMult.Length - 1)
            {
                input.Add(new TimestepEmbedSequential(new Downsample(ch)));
                skipChannels.Push(ch);
                ds *= 2;
            }
        }
        for (int i = 0; i < input.Count; i++) Child($"input_blocks.{i}", input[i]);
        InputBlocks = input;

        MiddleBlock = Child("middle_block", new TimestepEmbedSequential(
            ResBlock.Dual(ch, emb, ch, semb), Transformer(ch, cfg.DisableMiddleSelfAttn), ResBlock.Dual(ch, emb, ch, semb)));

        var output = new List<TimestepEmbedSequential>();
        for (int level = cfg.ChannelMult.Length - 1; level >= 0; level--)
        {
            for (int i = 0; i <= cfg.NumResBlocks[level]; i++)
            {
                int outCh = cfg.ModelChannels * cfg.ChannelMult[level];
                var block = new TimestepEmbedSequential(ResBlock.Dual(ch + skipChannels.Pop(), emb, outCh, semb));
                ch = outCh;
                if (cfg.HasTransformer(level, i, ds)) block.Add(Transformer(ch, cfg.SelfAttentionDisabled(level)));
                if (level != 0 && i == cfg.NumResBlocks[level])
                {
                    block.Add(new Upsample(ch));
                    ds /= 2;
                }
                output.Add(block);
            }
        }
        for (int i = 0; i < output.Count; i++) Child($"output_blocks.{i}", output[i]);
        OutputBlocks = output;

        OutNorm = Child("out.0", new GroupNorm(ch, 1e-5f));
        OutConv = Child("out.2", Conv2d.Same3x3(cfg.ModelChannels, cfg.OutChannels));
    }

    /// <summary>Every SpatialTransformer in construction order (input, middle, output), with its upstream path.</summary>
    public IEnumerable<(string Path, SpatialTransformer Transformer)> SpatialTransformers()
    {
        IEnumerable<(string, TimestepEmbedSequential)> blocks = InputBlocks.Select((b, i) => ($"input_blocks.{i}", b))
            .Append(("middle_block", MiddleBlock))
            .Concat(OutputBlocks.Select((b, i) => ($"output_blocks.{i}", b)));
        foreach (var (path, block) in blocks)
            for (int j = 0; j < block.Layers.Count; j++)
                if (block.Layers[j] is SpatialTransformer st) yield return ($"{path}.{j}", st);
    }

    /// <summary>
    /// x [B,C,H,W] noisy latent, timesteps [B] (original steps), context [B,77,ctx], struct features by width → ε [B,C,H,W].
    /// With a personalization pass the batch holds both streams and the attached personalization blocks act on it.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor timesteps, Tensor context, StructCond structCond, PersonalizationPass? personalization = null)
    {
        using var emb = TimeEmbed.Forward(timesteps);
        var c = new UNetConditioning(emb, context, structCond, personalization, GradientCheckpointing);
        var hs = new Stack<Tensor>();
        try
        {
            foreach (var block in InputBlocks) hs.Push(block.Forward(hs.Count == 0 ? x : hs.Peek(), c));
            var h = MiddleBlock.Forward(hs.Peek(), c);
            foreach (var block in OutputBlocks)
            {
                using var skip = hs.Pop();
                using (var prev = h)
                {
                    using var cat = F.Concat([prev, skip], 1);
                    h = block.Forward(cat, c);
                }
            }
            using (h)
            using (var n = OutNorm.Forward(h, silu: true))
                return OutConv.Forward(n);
        }
        finally
        {
            while (hs.Count > 0) hs.Pop().Dispose();
        }
    }
}
