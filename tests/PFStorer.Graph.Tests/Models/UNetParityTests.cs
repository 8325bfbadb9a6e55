using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// UNetModelDualcondV2 of stablesr-tiny against upstream: the whole forward, every block fed with upstream's own input
/// (the hooked e.* activations), and the pieces of one ResBlockDual and one SpatialTransformer.
/// </summary>
public sealed class UNetParityTests(StableSRTiny tiny) : IClassFixture<StableSRTiny>
{
    private UNetModelDualcondV2 UNet => tiny.Model.DiffusionModel;

    [Fact]
    public void ForwardMatches()
    {
        using var x = tiny.Case("unet.x");
        using var t = tiny.Case("unet.timesteps");
        using var context = tiny.Case("unet.context");
        using var sc = tiny.StructCond("unet.struct_cond.");
        using var eps = UNet.Forward(x, t, context, sc);
        tiny.AssertMatches(eps, "unet.out");
    }

    [Fact]
    public void TimeEmbeddingMatches()
    {
        using var t = tiny.Case("unet.timesteps");
        using var sinusoid = F.TimestepEmbedding(t, UNet.Config.ModelChannels);
        tiny.AssertMatches(sinusoid, "e.time_embed.in");
        using var emb = UNet.TimeEmbed.Forward(t);
        tiny.AssertMatches(emb, "e.time_embed.out");
    }

    [Fact]
    public void EveryBlockMatchesOnUpstreamInputs()
    {
        using var x = tiny.Case("unet.x");
        using var context = tiny.Case("unet.context");
        using var sc = tiny.StructCond("unet.struct_cond.");
        using var emb = tiny.Case("e.time_embed.out");
        var c = new UNetConditioning(emb, context, sc);
        var skips = Enumerable.Range(0, UNet.InputBlocks.Count).Select(i => tiny.Case($"e.input_blocks.{i}.out")).ToList();
        try
        {
            for (int i = 0; i < UNet.InputBlocks.Count; i++)
            {
                using var y = UNet.InputBlocks[i].Forward(i == 0 ? x : skips[i - 1], c);
                tiny.AssertMatches(y, $"e.input_blocks.{i}.out");
            }
            using (var mid = UNet.MiddleBlock.Forward(skips[^1], c)) tiny.AssertMatches(mid, "e.middle_block.out");
            for (int i = 0; i < UNet.OutputBlocks.Count; i++)
            {
                using var h = tiny.Case(i == 0 ? "e.middle_block.out" : $"e.output_blocks.{i - 1}.out");
                using var cat = F.Concat([h, skips[^(i + 1)]], 1);
                using var y = UNet.OutputBlocks[i].Forward(cat, c);
                tiny.AssertMatches(y, $"e.output_blocks.{i}.out");
            }
            using var last = tiny.Case("e.out.0.in");
            using var norm = UNet.OutNorm.Forward(last);
            tiny.AssertMatches(norm, "e.out.0.out");
        }
        finally
        {
            skips.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void ResBlockDualPiecesMatch()
    {
        const string p = "e.input_blocks.3.0";
        var block = (ResBlock)UNet.InputBlocks[3].Layers[0];
        using var sc = tiny.StructCond("unet.struct_cond.");
        using var emb = tiny.Case("e.time_embed.out");
        Check(p + ".in_layers.0", x => block.InNorm.Forward(x));
        Check(p + ".in_layers", block.InLayers);
        Check(p + ".emb_layers", block.EmbLayers);
        Check(p + ".out_layers", block.OutLayers);
        Check(p + ".skip_connection", x => block.SkipConnection!.Forward(x));
        Check(p + ".spade.param_free_norm", x => block.Spade!.ParamFreeNorm.Forward(x));
        Check(p + ".spade.mlp_shared", block.Spade!.Shared);
        Check(p + ".spade.mlp_gamma", block.Spade.MlpGamma.Forward);
        Check(p + ".spade.mlp_beta", block.Spade.MlpBeta.Forward);
        Check(p + ".spade", x => block.Spade.Forward(x, sc));
        Check(p, x => block.Forward(x, emb, sc));
    }

    [Fact]
    public void SpatialTransformerPiecesMatch()
    {
        const string p = "e.input_blocks.3.1";
        var st = (SpatialTransformer)UNet.InputBlocks[3].Layers[1];
        var tb = st.TransformerBlocks[0];
        using var context = tiny.Case("unet.context");
        const string b = p + ".transformer_blocks.0";
        Check(p + ".norm", x => st.Norm.Forward(x));
        Check(p + ".proj_in", st.ProjIn.Forward);
        Check(b + ".norm1", tb.Norm1.Forward);
        Check(b + ".attn1.to_q", tb.Attn1.ToQ.Forward);
        Check(b + ".attn1.to_k", tb.Attn1.ToK.Forward);
        Check(b + ".attn1.to_v", tb.Attn1.ToV.Forward);
        Check(b + ".attn1", x => tb.Attn1.Forward(x));
        Check(b + ".attn2.to_q", tb.Attn2.ToQ.Forward);
        Check(b + ".attn2.to_k", tb.Attn2.ToK.Forward);
        Check(b + ".attn2.to_v", tb.Attn2.ToV.Forward);
        Check(b + ".attn2", x => tb.Attn2.Forward(x, context));
        Check(b + ".ff", tb.Ff.Forward);
        Check(b, x => tb.Forward(x, context));
        Check(p + ".proj_out", st.ProjOut.Forward);
        Check(p, x => st.Forward(x, context));
    }

    /// <summary>Runs <paramref name="f"/> on "{name}.in" and compares with "{name}.out".</summary>
    private void Check(string name, Func<Tensor, Tensor> f)
    {
        using var x = tiny.Case(name + ".in");
        using var y = f(x);
        tiny.AssertMatches(y, name + ".out");
    }
}
