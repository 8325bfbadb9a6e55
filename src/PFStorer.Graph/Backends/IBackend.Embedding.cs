namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>
    /// Sinusoidal timestep embedding as upstream: half = dim/2, freq_i = exp(−ln(maxPeriod)·i/half), args = t·freq,
    /// y = [cos(args), sin(args)] (cos first). t [B] f32 or i64; y [B, dim].
    /// </summary>
    void TimestepEmbedding(Tensor t, Tensor y, float maxPeriod);

    /// <summary>
    /// y[b,s,:] = table[ids[b,s], :], except that positions whose id equals <paramref name="overrideId"/> take
    /// <paramref name="overrideRow"/> [D] instead (the learnable placeholder token). ids [B,S] i64, table [V,D].
    /// </summary>
    void Embedding(Tensor ids, Tensor table, Tensor y, int overrideId, Tensor? overrideRow);

    /// <summary>Scatter-adds dy into dTable (rows of ids ≠ overrideId) and sums the override positions into dOverrideRow. Both are overwritten.</summary>
    void EmbeddingBackward(Tensor ids, Tensor dy, Tensor? dTable, int overrideId, Tensor? dOverrideRow);
}
