using PFStorer.Graph.Models;
using Xunit;
using static PFStorer.Graph.Tests.Models.TinyConfig;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// Every upstream config key the engine honours, moved away from its default in the tiny config, changes the built
/// networks as upstream's constructors would (key set and shapes, no weights); the keys it cannot reproduce are
/// refused with an error naming them; the keys with no effect leave the networks as they were.
/// </summary>
public sealed class ConfigKeyTests
{
    private static Dictionary<string, string> UNetLayout(StableSRConfig cfg)
    {
        using var unet = new UNetModelDualcondV2(cfg.UNet);
        return ArchitectureTests.Layout(unet);
    }

    private static (int Heads, int DimHead)[] TransformerHeads(StableSRConfig cfg)
    {
        using var unet = new UNetModelDualcondV2(cfg.UNet);
        return unet.SpatialTransformers().Select(t => (t.Transformer.TransformerBlocks[0].Attn2.Heads, t.Transformer.TransformerBlocks[0].Attn2.DimHead)).ToArray();
    }

    [Fact]
    public void UNetNumResBlocksPerLevel()
    {
        var cfg = Load((UNet, "num_res_blocks", "[1, 2, 1]"));
        using var unet = new UNetModelDualcondV2(cfg.UNet);
        Assert.Equal(7, unet.InputBlocks.Count);
        Assert.Equal(7, unet.OutputBlocks.Count);
        Assert.Contains("input_blocks.4.1.proj_in.weight", ArchitectureTests.Layout(unet).Keys);
        Assert.Contains("output_blocks.4.1.proj_in.weight", ArchitectureTests.Layout(unet).Keys);
    }

    [Fact]
    public void UNetHeadsFromHeadChannelsOrHeadCount()
    {
        // The tiny UNet's transformers have 32 or 64 channels.
        Assert.All(TransformerHeads(Load((UNet, "num_head_channels", "16"))), h => Assert.Equal(16, h.DimHead));
        Assert.Contains((2, 16), TransformerHeads(Load((UNet, "num_head_channels", "16"))));
        var byCount = TransformerHeads(Load((UNet, "num_head_channels", "-1"), (UNet, "num_heads", "2")));
        Assert.All(byCount, h => Assert.Equal(2, h.Heads));
        Assert.Contains((2, 32), byCount);
    }

    [Fact]
    public void UNetTransformerDepthContextDimAndSembChannels()
    {
        var layout = UNetLayout(Load((UNet, "transformer_depth", "2"), (UNet, "context_dim", "48"), (UNet, "semb_channels", "16"), (TimeAware, "out_channels", "16")));
        Assert.Contains("input_blocks.1.1.transformer_blocks.1.attn2.to_k.weight", layout.Keys);
        Assert.Equal("[32,48]", layout["input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"]);
        Assert.Equal("[128,16,3,3]", layout["input_blocks.1.0.spade.mlp_shared.0.weight"]);
    }

    [Fact]
    public void UNetConvProjectionsWhenNotLinear()
    {
        var layout = UNetLayout(Load((UNet, "use_linear_in_transformer", "false")));
        Assert.Equal("[32,32,1,1]", layout["input_blocks.1.1.proj_in.weight"]);
        Assert.Equal("[64,64,1,1]", layout["middle_block.1.proj_out.weight"]);
        Assert.Equal("[32,32,1,1]", UNetLayout(Load((UNet, "use_linear_in_transformer", Remove)))["input_blocks.1.1.proj_in.weight"]);
    }

    [Fact]
    public void UNetDisabledSelfAttentionAttendsToTheContext()
    {
        var layout = UNetLayout(Load((UNet, "context_dim", "48"), (UNet, "disable_self_attentions", "[true, false, false]"), (UNet, "disable_middle_self_attn", "true")));
        Assert.Equal("[32,48]", layout["input_blocks.1.1.transformer_blocks.0.attn1.to_k.weight"]);
        Assert.Equal("[32,48]", layout["output_blocks.5.1.transformer_blocks.0.attn1.to_v.weight"]);
        Assert.Equal("[64,64]", layout["input_blocks.3.1.transformer_blocks.0.attn1.to_k.weight"]);
        Assert.Equal("[64,48]", layout["middle_block.1.transformer_blocks.0.attn1.to_k.weight"]);
    }

    /// <summary>With self-attention disabled, attn1 reads the context: the block equals its residual steps composed by hand (random weights, 1e-6 abs).</summary>
    [Fact]
    public void DisabledSelfAttentionBlockAttendsToTheContext()
    {
        var rng = Reference.NewRandom(out int seed);
        using var block = new BasicTransformerBlock(32, 4, 8, contextDim: 48, disableSelfAttn: true);
        foreach (var (_, p) in block.NamedParameters()) p.Assign(Reference.Tensor(Reference.RandomArray(rng, (int)p.Numel, 0.3), p.ShapeArray()));
        using var x = Reference.Tensor(Reference.RandomArray(rng, 2 * 5 * 32), 2, 5, 32);
        using var context = Reference.Tensor(Reference.RandomArray(rng, 2 * 7 * 48), 2, 7, 48);
        using var y = block.Forward(x, context);

        using var n1 = block.Norm1.Forward(x);
        using var a1 = block.Attn1.Forward(n1, context);
        using var h1 = F.Add(a1, x);
        using var n2 = block.Norm2.Forward(h1);
        using var a2 = block.Attn2.Forward(n2, context);
        using var h2 = F.Add(a2, h1);
        using var n3 = block.Norm3.Forward(h2);
        using var f = block.Ff.Forward(n3);
        using var expected = F.Add(f, h2);
        var e = expected.ToFloatArray();
        var a = y.ToFloatArray();
        Assert.True(e.Zip(a).All(p => Math.Abs(p.First - p.Second) <= 1e-6), $"seed {seed}");
    }

    [Fact]
    public void UNetNumAttentionBlocksLimitsTransformersPerLevel()
    {
        var layout = UNetLayout(Load((UNet, "num_attention_blocks", "[1, 0, 1]")));
        bool Has(string block) => layout.ContainsKey($"{block}.1.proj_in.weight");
        Assert.True(Has("input_blocks.1"));
        Assert.False(Has("input_blocks.3"));
        Assert.True(Has("middle_block"));
        Assert.False(Has("output_blocks.2") || Has("output_blocks.3"));
        // Upstream counts the decoder's blocks against the same limit, so a level's last decoder block loses its transformer.
        Assert.True(Has("output_blocks.4"));
        Assert.False(Has("output_blocks.5"));
    }

    [Fact]
    public void UNetAndEncoderChannelMultDefaultToUpstreams()
    {
        var cfg = Load((UNet, "channel_mult", Remove), (TimeAware, "channel_mult", Remove));
        Assert.Equal([1, 2, 4, 8], cfg.UNet.ChannelMult);
        Assert.Equal([1, 2, 4, 8], cfg.StructCond.ChannelMult);
        using var unet = new UNetModelDualcondV2(cfg.UNet);
        Assert.Equal(1 + 4 + 3, unet.InputBlocks.Count);
        Assert.Equal("[256,256,3,3]", ArchitectureTests.Layout(unet)["middle_block.0.in_layers.2.weight"]);
    }

    [Fact]
    public void KeysWithoutEffectLeaveTheNetworksUnchanged()
    {
        var baseline = Load();
        var edited = Load((UNet, "use_checkpoint", "true"), (UNet, "legacy", "true"), (UNet, "use_fp16", "true"), (UNet, "num_heads_upsample", "3"),
            (UNet, "image_size", "64"), (UNet, "use_new_attention_order", "true"), (TimeAware, "use_checkpoint", "true"), (Vae, "fusion_w", "0.0"),
            (Vae, "num_fuse_block", "5"), (Embedder, "max_length", "32"), (Embedder, "version", "\"other\""), (Embedder, "freeze", "false"));
        Assert.Equal(UNetLayout(baseline), UNetLayout(edited));
        using var vae = new AutoencoderKL(edited.Vae);
        using var baseVae = new AutoencoderKL(baseline.Vae);
        Assert.Equal(ArchitectureTests.Layout(baseVae), ArchitectureTests.Layout(vae));
        Assert.Equal(baseline.Text, edited.Text);
    }

    [Fact]
    public void EncoderHeadsLayoutAndAttentionOrder()
    {
        var cfg = Load((TimeAware, "num_head_channels", "16"), (TimeAware, "num_res_blocks", "1"), (TimeAware, "use_new_attention_order", "true"));
        using var encoder = new EncoderUNetModelWT(cfg.StructCond);
        var blocks = encoder.InputBlocks.SelectMany(b => b.Layers).OfType<AttentionBlock>().ToArray();
        Assert.Equal([2, 2], blocks.Select(b => b.Heads));
        Assert.All(blocks, b => Assert.True(b.NewAttentionOrder));
        Assert.Equal(4, ((AttentionBlock)encoder.MiddleBlock.Layers[1]).Heads);
        Assert.Equal(6, encoder.InputBlocks.Count);
    }

    [Fact]
    public void VaeAttentionAtTheListedResolutions()
    {
        // resolution 128 and four levels: level 1 runs at 64 in the encoder and in the decoder.
        using var vae = new AutoencoderKL(Load((Vae, "attn_resolutions", "[64]")).Vae);
        var attn = ArchitectureTests.Layout(vae).Keys.Where(k => k.Contains(".attn.", StringComparison.Ordinal) && k.EndsWith("q.weight", StringComparison.Ordinal)).Order();
        Assert.Equal(["decoder.up.1.attn.0.q.weight", "decoder.up.1.attn.1.q.weight", "encoder.down.1.attn.0.q.weight"], attn);
    }

    [Fact]
    public void VaeWidthsLevelsAndLatentChannels()
    {
        var cfg = Load((Vae, "ch", "64"), (Vae, "ch_mult", "[1, 2]"), (Vae, "num_res_blocks", "2"), (Vae, "z_channels", "8"),
            (Vae, "in_channels", "1"), (Vae, "out_ch", "2"), (FirstStage, "embed_dim", "6"));
        using var vae = new AutoencoderKL(cfg.Vae);
        var layout = ArchitectureTests.Layout(vae);
        Assert.Equal("[64,1,3,3]", layout["encoder.conv_in.weight"]);
        Assert.Equal("[16,128,3,3]", layout["encoder.conv_out.weight"]);
        Assert.Equal("[12,16,1,1]", layout["quant_conv.weight"]);
        Assert.Equal("[8,6,1,1]", layout["post_quant_conv.weight"]);
        Assert.Equal("[2,64,3,3]", layout["decoder.conv_out.weight"]);
        Assert.Contains("decoder.up.0.block.2.conv1.weight", layout.Keys);
        Assert.DoesNotContain("encoder.down.2.block.0.conv1.weight", layout.Keys);
    }

    [Fact]
    public void CfwFuseBlocksAndFusionWeight()
    {
        var cfg = Load((CfwVae, "num_fuse_block", "3"), (Cfw, "fusion_w", "0.25"));
        Assert.Equal(0.25f, cfg.CfwVae.FusionWeight);
        using var vae = new AutoencoderKL(cfg.CfwVae, cfw: true);
        var layout = ArchitectureTests.Layout(vae);
        Assert.Contains("decoder.fusion_layer_2.encode_enc_2.2.rdb1.conv1.weight", layout.Keys);
        Assert.DoesNotContain("decoder.fusion_layer_2.encode_enc_2.3.rdb1.conv1.weight", layout.Keys);
        // Decoder_Mix's own fusion_w is overwritten by AutoencoderKLResi's, whose default is 1.
        Assert.Equal(1f, Load((CfwVae, "fusion_w", "0.25")).CfwVae.FusionWeight);
    }

    [Fact]
    public void CfwVaeFallsBackToTheFirstStageDdconfig()
    {
        var cfg = Load(("", "vqgan_cfw_model", Remove));
        Assert.Same(cfg.Vae, cfg.CfwVae);
        Assert.Equal(2, cfg.CfwVae.NumFuseBlock);
    }

    [Fact]
    public void TextTowerLayerAndSizes()
    {
        Assert.Equal(0, Load((Embedder, "layer", "\"last\"")).Text.LayerIndex);
        Assert.Equal(0, Load((Embedder, "layer", Remove)).Text.LayerIndex);
        var text = Load((TextCfg, "width", "48"), (TextCfg, "heads", "4"), (TextCfg, "layers", "3"), (TextCfg, "vocab_size", "49500"), (OpenClip, "embed_dim", "16")).Text;
        Assert.Equal(new TextConfig(77, 49500, 48, 4, 3, 16, LayerIndex: 1), text);
        using var tower = new OpenClipTextTransformer(text);
        var layout = ArchitectureTests.Layout(tower);
        Assert.Equal("[49500,48]", layout["token_embedding.weight"]);
        Assert.Equal("[48,16]", layout["text_projection"]);
        Assert.Contains("transformer.resblocks.2.attn.in_proj_weight", layout.Keys);
        Assert.Equal(TextConfig.VitH14(1), Load(("", "open_clip_text_cfg", Remove)).Text);
    }

    [Fact]
    public void ScaleFactorAndImageSizeAreHonouredWithUpstreamsDefaults()
    {
        Assert.Equal(0.5f, Load((Model, "scale_factor", "0.5")).ScaleFactor);
        Assert.Equal(1f, Load((Model, "scale_factor", Remove)).ScaleFactor);
        Assert.Equal(128, Load().ImageSize);
        Assert.Equal(256, Load((Model, "image_size", Remove)).ImageSize);
        Assert.Equal(512, StableSRConfig.Full512.ImageSize);
    }

    public static TheoryData<string, string, string> RefusedValues() => new()
    {
        { UNet, "use_spatial_transformer", "false" }, { UNet, "use_scale_shift_norm", "true" }, { UNet, "resblock_updown", "true" },
        { UNet, "conv_resample", "false" }, { UNet, "dims", "3" }, { UNet, "dropout", "0.1" }, { UNet, "num_classes", "10" },
        { UNet, "n_embed", "16" }, { UNet, "context_dim", "[32]" }, { UNet, "num_head_channels", "12" },
        { UNet, "num_attention_blocks", "[2, 2, 2]" }, { UNet, "disable_self_attentions", "[true]" }, { UNet, "num_res_blocks", "[1, 1]" }, { UNet, "attention_resolutions", "[\"2\"]" },
        { TimeAware, "use_scale_shift_norm", "true" }, { TimeAware, "resblock_updown", "true" }, { TimeAware, "conv_resample", "false" },
        { TimeAware, "dims", "1" }, { TimeAware, "dropout", "0.1" }, { TimeAware, "num_heads", "3" }, { TimeAware, "num_head_channels", "12" },
        { TimeAware, "out_channels", "16" },
        { Vae, "double_z", "false" }, { Vae, "resamp_with_conv", "false" }, { Vae, "dropout", "0.1" }, { Vae, "use_linear_attn", "true" },
        { Vae, "attn_type", "\"linear\"" }, { Vae, "give_pre_end", "true" }, { Vae, "tanh_out", "true" },
        { CfwVae, "ch_mult", "[1, 1, 1, 1, 2]" }, { CfwVae, "tanh_out", "true" },
        { Embedder, "layer", "\"pooled\"" }, { TextCfg, "context_length", "64" }, { OpenClip, "quick_gelu", "true" },
        { TextCfg, "ls_init_value", "0.1" }, { TextCfg, "mlp_ratio", "2.0" }, { TextCfg, "vocab_size", "1000" },
        { Model, "parameterization", "\"v\"" }, { Model, "linear_end", "0.02" }, { Model, "timesteps", "500" },
        { Model, "conditioning_key", "\"concat\"" }, { Model, "scale_by_std", "true" },
    };

    [Theory]
    [MemberData(nameof(RefusedValues))]
    public void UnsupportedValuesAreRefusedByName(string section, string key, string value)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Load((section, key, value)));
        Assert.Contains($"{section}.{key}", ex.Message);
    }

    [Fact]
    public void OtherTextArchsNeedTheirTowerConfig()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Load(("", "open_clip_text_cfg", Remove), (Embedder, "arch", "\"ViT-bigG-14\"")));
        Assert.Contains("arch", ex.Message);
    }
}
