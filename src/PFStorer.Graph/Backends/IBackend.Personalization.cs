namespace PFStorer.Graph.Backends;

/// <summary>The personalization op family (docs/personalization.md).</summary>
public partial interface IBackend
{
    /// <summary>
    /// The γ-gated residual y = f + γ ⊙ (p + bias) over rows of C channels (f, p, y [..., C]; γ, bias [C]): the epilogue
    /// that adds a personalization block's output (p: its last GEMM plus the other branches, bias: that GEMM's bias) to the host's tokens.
    /// </summary>
    void PersonalizeResidual(Tensor f, Tensor p, Tensor? bias, Tensor gamma, Tensor y);

    /// <summary>Gradients of <see cref="PersonalizeResidual"/>: dp = γ ⊙ dy, dγ = Σ_rows dy ⊙ (p + bias); null outputs are skipped.</summary>
    void PersonalizeResidualBackward(Tensor p, Tensor? bias, Tensor gamma, Tensor dy, Tensor? dp, Tensor? dgamma);

    /// <summary>
    /// L_Pers of one placement into loss [1]: mean over [rows, n] of (a/max a − e/max e)², max per row; a is the placeholder
    /// token's attention map, e the end-of-text token's (treated as a constant).
    /// </summary>
    void AttentionMapLoss(Tensor a, Tensor e, Tensor loss);

    /// <summary>da = dLoss · ∂L/∂a of <see cref="AttentionMapLoss"/> (dLoss [1]); the maximum routes to its first index.</summary>
    void AttentionMapLossBackward(Tensor a, Tensor e, Tensor dLoss, Tensor da);

    /// <summary>
    /// Personalized cross-attention with the γ epilogue: y = f + γ ⊙ o, o = MHA(q, k, v) over <paramref name="heads"/> heads
    /// (heads interleaved in the last dim; logits scaled by <paramref name="scale"/>) with keys masked where keyMask [B,Tk]
    /// is 0 (logit −float.MaxValue). q, f, y [B,Tq,H·D] (the generated stream's queries and tokens), k, v [B,Tk,H·D] (the
    /// reference stream's), γ [H·D]. o, when given, receives the attention output; lse [B,H,Tq] the log-sum-exp (backward).
    /// </summary>
    void PersonalizedAttention(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor f, Tensor gamma, Tensor y, Tensor? o, Tensor lse, int heads, float scale);

    /// <summary>
    /// Gradients of <see cref="PersonalizedAttention"/> from dy (df = dy needs no call): dq, dk, dv through the attention
    /// with dO = γ ⊙ dy, and dγ = Σ_rows dy ⊙ o. Null outputs are skipped.
    /// </summary>
    void PersonalizedAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor gamma, Tensor o, Tensor lse, Tensor dy,
        Tensor? dq, Tensor? dk, Tensor? dv, Tensor? dgamma, int heads, float scale);
}
