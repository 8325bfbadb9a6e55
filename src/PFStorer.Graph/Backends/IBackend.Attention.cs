namespace PFStorer.Graph.Backends;

/// <summary>
/// Options of multi-head scaled-dot-product attention.
/// KeyMask [B,Tk] f32: 0 masks that key for every query and head (logit set to −float.MaxValue, as ViCo's masked_fill), non-zero keeps it.
/// Causal: query i sees keys ≤ i (OpenCLIP's text mask). ProbKeys: when set, the head-averaged softmax probabilities
/// of these key indices ([B, ProbKeyCount] row-major, per batch entry) are written to the probs output [B, Tq, ProbKeyCount].
/// </summary>
public sealed record AttentionArgs(int Heads, float Scale, Tensor? KeyMask = null, bool Causal = false, int[]? ProbKeys = null)
{
    public int ProbKeyCount(int batch) => ProbKeys == null ? 0 : ProbKeys.Length / batch;
}

public partial interface IBackend
{
    /// <summary>
    /// q [B,Tq,H·D], k [B,Tk,H·D], v [B,Tk,H·Dv] (heads interleaved in the last dim, as to_q/to_k/to_v produce them);
    /// o [B,Tq,H·Dv]; lse [B,H,Tq] receives the log-sum-exp of the scaled logits (for backward); probs as in <see cref="AttentionArgs"/>.
    /// </summary>
    void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor? probs, AttentionArgs args);

    /// <summary>Gradients of <see cref="Attention"/>; dProbs is the gradient of the probs output when it took part in the loss.</summary>
    void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, Tensor? dProbs,
        Tensor? dq, Tensor? dk, Tensor? dv, AttentionArgs args);
}
