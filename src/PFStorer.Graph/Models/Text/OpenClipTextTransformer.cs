using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The OpenCLIP text tower that FrozenOpenCLIPEmbedder wraps (`cond_stage_model.model`, visual tower deleted):
/// x = token_embedding[ids] + positional_embedding; the resblocks except the last <see cref="TextConfig.LayerIndex"/>
/// (StableSR: "penultimate", skip one); ln_final on every position → the cross-attention context [B,77,W].
/// text_projection and logit_scale are checkpoint entries that this path never reads.
/// </summary>
public sealed class OpenClipTextTransformer : Module
{
    public TextConfig Config { get; }
    public Parameter TokenEmbedding { get; }
    public Parameter PositionalEmbedding { get; }
    public IReadOnlyList<ResidualAttentionBlock> Resblocks { get; }
    public LayerNorm LnFinal { get; }
    public Parameter TextProjection { get; }
    public Parameter LogitScale { get; }

    public OpenClipTextTransformer(TextConfig cfg)
    {
        Config = cfg;
        TokenEmbedding = Param("token_embedding.weight", cfg.VocabSize, cfg.Width);
        PositionalEmbedding = Param("positional_embedding", cfg.ContextLength, cfg.Width);
        TextProjection = Param("text_projection", cfg.Width, cfg.EmbedDim);
        LogitScale = Param("logit_scale");
        Resblocks = Enumerable.Range(0, cfg.Layers)
            .Select(i => Child($"transformer.resblocks.{i}", new ResidualAttentionBlock(cfg.Width, cfg.Heads))).ToArray();
        LnFinal = Child("ln_final", new LayerNorm(cfg.Width));
    }

    /// <summary>
    /// ids [B,77] int64 → context [B,77,W]. Positions holding <paramref name="overrideId"/> read
    /// <paramref name="overrideRow"/> [W] instead of the table (the learnable placeholder token `*`).
    /// </summary>
    public Tensor Forward(Tensor ids, int overrideId = -1, Tensor? overrideRow = null)
    {
        var x = EmbedPlusPositions(ids, overrideId, overrideRow);
        for (int i = 0; i < Resblocks.Count - Config.LayerIndex; i++)
        {
            using var prev = x;
            x = Resblocks[i].Forward(prev);
        }
        using (x) return LnFinal.Forward(x);
    }

    /// <summary>token_embedding (with the optional override row) + positional_embedding, [B,T,W].</summary>
    public Tensor EmbedPlusPositions(Tensor ids, int overrideId = -1, Tensor? overrideRow = null)
    {
        if (ids.Dim(-1) != Config.ContextLength) throw new ArgumentException($"text ids {ids.ShapeString} must hold {Config.ContextLength} tokens");
        using var tokens = F.Embedding(ids, TokenEmbedding.Tensor, overrideId, overrideRow);
        return F.Add(tokens, PositionalEmbedding.Tensor);
    }
}
