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
}
