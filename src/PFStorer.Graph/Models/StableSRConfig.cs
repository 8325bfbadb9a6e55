using System.Text.Json;

namespace PFStorer.Graph.Models;

/// <summary>UNetModelDualcondV2 hyper-parameters (stablesr.md §1.2). Heads: ch / NumHeadChannels, or NumHeads when that is −1.</summary>
public sealed record UNetConfig(
    int InChannels, int OutChannels, int ModelChannels, int[] ChannelMult, int NumResBlocks, int[] AttentionResolutions,
    int NumHeads, int NumHeadChannels, int TransformerDepth, int ContextDim, int SembChannels)
{
    public int TimeEmbedDim => 4 * ModelChannels;

    public (int Heads, int DimHead) HeadsFor(int channels) => NumHeadChannels == -1
        ? (NumHeads, channels / NumHeads)
        : (channels / NumHeadChannels, NumHeadChannels);
}

/// <summary>EncoderUNetModelWT (time-aware encoder) hyper-parameters (§1.3); its AttentionBlocks use NumHeads heads.</summary>
public sealed record StructCondConfig(
    int InChannels, int ModelChannels, int OutChannels, int[] ChannelMult, int NumResBlocks, int[] AttentionResolutions, int NumHeads)
{
    public int TimeEmbedDim => 4 * ModelChannels;
}

/// <summary>The VAE's ddconfig (§1.4), shared by AutoencoderKL and the CFW AutoencoderKLResi; double_z and no mid-level attention.</summary>
public sealed record VaeConfig(int Ch, int[] ChMult, int NumResBlocks, int InChannels, int OutCh, int ZChannels, int EmbedDim);

/// <summary>OpenCLIP text tower (§5). LayerIndex counts resblocks skipped from the end: 1 = "penultimate" (StableSR), 0 = "last".</summary>
public sealed record TextConfig(int ContextLength, int VocabSize, int Width, int Heads, int Layers, int EmbedDim, int LayerIndex);

/// <summary>
/// Every hyper-parameter of LatentDiffusionSRTextWT. <see cref="Full512"/> is the released 512 model
/// (configs/stableSRNew/v2-finetune_text_T_512.yaml + open_clip ViT-H-14); <see cref="Load"/> reads a config.json
/// with the upstream key layout (as tests/fixtures/stablesr-tiny/config.json).
/// </summary>
public sealed record StableSRConfig(UNetConfig UNet, StructCondConfig StructCond, VaeConfig Vae, TextConfig Text, float ScaleFactor)
{
    public static StableSRConfig Full512 { get; } = new(
        new UNetConfig(4, 4, 320, [1, 2, 4, 4], 2, [4, 2, 1], NumHeads: -1, NumHeadChannels: 64, TransformerDepth: 1, ContextDim: 1024, SembChannels: 256),
        new StructCondConfig(4, 256, 256, [1, 1, 2, 2], 2, [4, 2, 1], NumHeads: 4),
        new VaeConfig(128, [1, 2, 4, 4], 2, 3, 3, 4, 4),
        new TextConfig(77, 49408, 1024, 16, 24, 1024, LayerIndex: 1),
        0.18215f);

    /// <summary>Reads {"model": {params: {unet_config, structcond_stage_config, first_stage_config, cond_stage_config, scale_factor}}, "open_clip_text_cfg": …}.</summary>
    public static StableSRConfig Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var reader = new ConfigReader(path);
        var model = reader.Get(doc.RootElement, "model", "params");
        var unet = reader.Get(model, "unet_config", "params");
        var sc = reader.Get(model, "structcond_stage_config", "params");
        var dd = reader.Get(model, "first_stage_config", "params", "ddconfig");
        var cond = reader.Get(model, "cond_stage_config", "params");

        // Upstream defaults in the last argument; `legacy` is irrelevant with spatial transformers (same heads either way).
        reader.Require(unet, "use_spatial_transformer", true, false);
        reader.Require(unet, "use_linear_in_transformer", true, false);
        foreach (var block in new[] { unet, sc })
        {
            reader.Require(block, "use_scale_shift_norm", false, false);
            reader.Require(block, "resblock_updown", false, false);
        }
        reader.Require(sc, "use_new_attention_order", false, false);
        reader.Require(dd, "double_z", true, true);
        if (reader.Ints(dd, "attn_resolutions").Length != 0) throw reader.Error("ddconfig.attn_resolutions must be empty (StableSR's VAE has attention only in mid)");

        var unetCfg = new UNetConfig(
            reader.Int(unet, "in_channels"), reader.Int(unet, "out_channels"), reader.Int(unet, "model_channels"),
            reader.Ints(unet, "channel_mult"), reader.Int(unet, "num_res_blocks"), reader.Ints(unet, "attention_resolutions"),
            reader.Int(unet, "num_heads", -1), reader.Int(unet, "num_head_channels", -1), reader.Int(unet, "transformer_depth", 1),
            reader.Int(unet, "context_dim"), reader.Int(unet, "semb_channels"));
        if (unetCfg.NumHeads == -1 && unetCfg.NumHeadChannels == -1) throw reader.Error("unet_config needs num_heads or num_head_channels");
        if (reader.Int(sc, "num_head_channels", -1) != -1) throw reader.Error("structcond num_head_channels must be -1 (heads from num_heads)");
        var scCfg = new StructCondConfig(
            reader.Int(sc, "in_channels"), reader.Int(sc, "model_channels"), reader.Int(sc, "out_channels"),
            reader.Ints(sc, "channel_mult"), reader.Int(sc, "num_res_blocks"), reader.Ints(sc, "attention_resolutions"),
            reader.Int(sc, "num_heads"));
        if (scCfg.OutChannels != unetCfg.SembChannels) throw reader.Error($"structcond out_channels {scCfg.OutChannels} ≠ unet semb_channels {unetCfg.SembChannels}");
        var vae = new VaeConfig(
            reader.Int(dd, "ch"), reader.Ints(dd, "ch_mult"), reader.Int(dd, "num_res_blocks"), reader.Int(dd, "in_channels"),
            reader.Int(dd, "out_ch"), reader.Int(dd, "z_channels"), reader.Int(reader.Get(model, "first_stage_config", "params"), "embed_dim"));

        string layer = cond.TryGetProperty("layer", out var l) ? l.GetString()! : "last";
        int layerIndex = layer switch { "penultimate" => 1, "last" => 0, _ => throw reader.Error($"cond_stage layer '{layer}' is not 'last' or 'penultimate'") };
        var text = Full512.Text with { LayerIndex = layerIndex };
        if (doc.RootElement.TryGetProperty("open_clip_text_cfg", out var clip))
        {
            var tc = reader.Get(clip, "text_cfg");
            text = new TextConfig(reader.Int(tc, "context_length"), reader.Int(tc, "vocab_size"), reader.Int(tc, "width"),
                reader.Int(tc, "heads"), reader.Int(tc, "layers"), reader.Int(clip, "embed_dim"), layerIndex);
        }
        float scale = model.TryGetProperty("scale_factor", out var s) ? s.GetSingle() : 0.18215f;
        return new StableSRConfig(unetCfg, scCfg, vae, text, scale);
    }

    /// <summary>JSON access that names the file and the missing or unsupported field in every error.</summary>
    private sealed class ConfigReader(string path)
    {
        public Exception Error(string problem) => new InvalidDataException($"{path}: {problem}");

        public JsonElement Get(JsonElement e, params string[] keys)
        {
            foreach (var k in keys)
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(k, out e)) throw Error($"missing '{k}' (path {string.Join('.', keys)})");
            return e;
        }

        public int Int(JsonElement e, string key, int? fallback = null)
        {
            if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
                return fallback ?? throw Error($"missing integer '{key}'");
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Error($"'{key}' is not an integer");
        }

        public int[] Ints(JsonElement e, string key)
        {
            if (!e.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Array) throw Error($"missing integer list '{key}'");
            return v.EnumerateArray().Select(x => x.TryGetInt32(out int i) ? i : throw Error($"'{key}' holds a non-integer")).ToArray();
        }

        public void Require(JsonElement e, string key, bool expected, bool upstreamDefault)
        {
            bool value = e.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : upstreamDefault;
            if (value != expected) throw Error($"'{key}' = {value} is not supported (StableSR uses {expected})");
        }
    }
}
