namespace PFStorer.Graph.Models;

/// <summary>OpenCLIP text tower. LayerIndex counts resblocks skipped from the end: 1 = "penultimate" (StableSR), 0 = "last".</summary>
public sealed record TextConfig(int ContextLength, int VocabSize, int Width, int Heads, int Layers, int EmbedDim, int LayerIndex)
{
    /// <summary>open_clip's ViT-H-14 text tower, the one FrozenOpenCLIPEmbedder loads by default.</summary>
    public static TextConfig VitH14(int layerIndex) => new(77, 49408, 1024, 16, 24, 1024, layerIndex);

    /// <summary>
    /// Reads FrozenOpenCLIPEmbedder's `params` and, when given, `open_clip_text_cfg` (the tower's open_clip model
    /// config, which otherwise comes from the named arch).
    /// </summary>
    internal static TextConfig Read(ConfigSection embedder, ConfigSection? openClip)
    {
        string layer = embedder.String("layer", "last");
        int layerIndex = layer switch
        {
            "penultimate" => 1,
            "last" => 0,
            _ => throw embedder.Error("layer", $"= '{layer}' is not 'last' or 'penultimate'"),
        };
        if (openClip == null)
        {
            embedder.Expect("arch", "ViT-H-14", "ViT-H-14", "other towers need their open_clip_text_cfg");
            return VitH14(layerIndex);
        }
        openClip.Expect("quick_gelu", false, false, "the text MLP uses exact GELU");
        var tc = openClip.Section("text_cfg");
        tc.Expect("context_length", 77, 77, "FrozenOpenCLIPEmbedder always tokenizes to 77 ids");
        tc.Expect("mlp_ratio", 4f, 4f, "the text MLP is 4× wide");
        tc.ExpectNull("ls_init_value", "the resblocks have no layer scale");
        tc.ExpectNull("hf_model_name", "the tower is open_clip's own transformer");
        int vocab = tc.Int("vocab_size", 49408);
        if (vocab < 49408) throw tc.Error("vocab_size", $"= {vocab} is smaller than the tokenizer's 49408 ids");
        return new TextConfig(77, vocab, tc.Int("width", 512), tc.Int("heads", 8), tc.Int("layers", 12), openClip.Int("embed_dim"), layerIndex);
    }
}
