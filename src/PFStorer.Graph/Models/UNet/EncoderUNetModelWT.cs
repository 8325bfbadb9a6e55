using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// StableSR's time-aware encoder (openaimodel.EncoderUNetModelWT): the UNet's encoder half on the clean LQ latent with
/// legacy AttentionBlocks. The tensor entering each Downsample and the middle block's output each go through a
/// `fea_tran` ResBlock to out_channels; the results are keyed by spatial width.
/// </summary>
public sealed class EncoderUNetModelWT : Module
{
    public StructCondConfig Config { get; }
    public TimestepEmbedder TimeEmbed { get; }
    public IReadOnlyList<TimestepEmbedSequential> InputBlocks { get; }
    public TimestepEmbedSequential MiddleBlock { get; }
    public IReadOnlyList<ResBlock> FeaTran { get; }

    public EncoderUNetModelWT(StructCondConfig cfg)
    {
        Config = cfg;
        int emb = cfg.TimeEmbedDim;
        TimeEmbed = Child("time_embed", new TimestepEmbedder(cfg.ModelChannels, emb));

        var input = new List<TimestepEmbedSequential> { new(Conv2d.Same3x3(cfg.InChannels, cfg.ModelChannels)) };
        var featureChannels = new List<int>();
        int ch = cfg.ModelChannels, ds = 1;
        for (int level = 0; level < cfg.ChannelMult.Length; level++)
        {
            for (int i = 0; i < cfg.NumResBlocks; i++)
            {
                int outCh = cfg.ChannelMult[level] * cfg.ModelChannels;
                var block = new TimestepEmbedSequential(new ResBlock(ch, emb, outCh));
                ch = outCh;
                if (cfg.AttentionResolutions.Contains(ds)) block.Add(new AttentionBlock(ch, cfg.HeadsFor(ch), cfg.UseNewAttentionOrder));
                input.Add(block);
            }
            if (level != cfg.ChannelMult.Length - 1)
            {
                input.Add(new TimestepEmbedSequential(new Downsample(ch)));
                featureChannels.Add(ch);
                ds *= 2;
            }
        }
        for (int i = 0; i < input.Count; i++) Child($"input_blocks.{i}", input[i]);
        InputBlocks = input;

        MiddleBlock = Child("middle_block", new TimestepEmbedSequential(
            new ResBlock(ch, emb, ch), new AttentionBlock(ch, cfg.HeadsFor(ch), cfg.UseNewAttentionOrder), new ResBlock(ch, emb, ch)));
        featureChannels.Add(ch);

        FeaTran = featureChannels.Select((c, i) => Child($"fea_tran.{i}", new ResBlock(c, emb, cfg.OutChannels))).ToArray();
    }

    /// <summary>x [B,4,h,w] LQ latent, timesteps [B] (original steps) → features {w: [B,out,w',w'] …}.</summary>
    public StructCond Forward(Tensor x, Tensor timesteps)
    {
        using var emb = TimeEmbed.Forward(timesteps);
        var c = new UNetConditioning(emb);
        var picked = new List<Tensor>();
        var features = new Dictionary<int, Tensor>();
        Tensor? h = null;
        try
        {
            foreach (var block in InputBlocks)
            {
                var prev = h;
                h = block.Forward(prev ?? x, c);
                if (prev == null) continue;
                // The input of every Downsample (the width changes across it) is one of the features.
                if (h.Dim(-1) != prev.Dim(-1)) picked.Add(prev);
                else prev.Dispose();
            }
            using (var last = h!) h = MiddleBlock.Forward(last, c);
            picked.Add(h);
            h = null;
            for (int i = 0; i < picked.Count; i++)
            {
                var f = FeaTran[i].Forward(picked[i], emb);
                if (!features.TryAdd(f.Dim(-1), f)) { f.Dispose(); throw new InvalidOperationException($"two struct-cond features of width {f.Dim(-1)}"); }
            }
            return new StructCond(features);
        }
        catch
        {
            foreach (var f in features.Values) f.Dispose();
            throw;
        }
        finally
        {
            h?.Dispose();
            foreach (var p in picked) p.Dispose();
        }
    }
}
