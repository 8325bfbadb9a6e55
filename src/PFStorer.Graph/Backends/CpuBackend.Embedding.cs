namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void TimestepEmbedding(Tensor t, Tensor y, float maxPeriod) => throw new NotImplementedException("CPU Embedding");

    public void Embedding(Tensor ids, Tensor table, Tensor y, int overrideId, Tensor? overrideRow) => throw new NotImplementedException("CPU Embedding");

    public void EmbeddingBackward(Tensor ids, Tensor dy, Tensor? dTable, int overrideId, Tensor? dOverrideRow) => throw new NotImplementedException("CPU Embedding");
}
