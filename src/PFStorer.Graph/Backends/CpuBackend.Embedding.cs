using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void TimestepEmbedding(Tensor t, Tensor y, float maxPeriod)
    {
        if (t.Rank != 1 || y.Rank != 2 || y.Dim(0) != t.Dim(0))
            throw new ArgumentException($"timestep embedding: t {t.ShapeString} must be [B] and y {y.ShapeString} [B, dim]");
        // Timesteps arrive as i64 (the sampler's indices) or f32; upstream converts them with .float() first.
        var times = t.DType switch
        {
            DType.F32 => F32(t).ToArray(),
            DType.I64 => Array.ConvertAll(t.Span<long>().ToArray(), v => (float)v),
            _ => throw new ArgumentException($"timestep embedding: timesteps must be f32 or i64, got {t.DType}"),
        };
        EmbeddingCpu.Timestep(times, F32(y), y.Dim(1), maxPeriod);
    }

    public void Embedding(Tensor ids, Tensor table, Tensor y, int overrideId, Tensor? overrideRow) =>
        EmbeddingCpu.Lookup(I64(ids), F32(table), table.Dim(1), F32(y), overrideId, F32OrEmpty(overrideRow));

    public void EmbeddingBackward(Tensor ids, Tensor dy, Tensor? dTable, int overrideId, Tensor? dOverrideRow)
    {
        int dim = dy.Dim(-1);
        EmbeddingCpu.LookupBackward(I64(ids), F32(dy), dim, F32OrEmpty(dTable), overrideId, F32OrEmpty(dOverrideRow));
    }

    private static Span<long> I64(Tensor t)
    {
        if (t.DType != DType.I64) throw new ArgumentException($"CPU op expects i64, got {t.DType} for {t}");
        return t.Span<long>();
    }
}
