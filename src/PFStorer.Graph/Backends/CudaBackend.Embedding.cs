using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily EmbeddingKernels = new("embedding", [.. KernelFamily.PerFloatType(t => [
        $"timestep_embedding<float, {t}>", $"timestep_embedding<i64, {t}>", $"embedding_fwd<{t}>", $"embedding_bwd_table<{t}>", $"embedding_bwd_override<{t}>"])]);

    public void TimestepEmbedding(Tensor t, Tensor y, float maxPeriod)
    {
        if (t.Rank != 1 || y.Rank != 2 || y.Dim(0) != t.Dim(0)) throw new ArgumentException($"timestep embedding: t {t.ShapeString} and y {y.ShapeString} are not [B] and [B, dim]");
        string tt = t.DType switch
        {
            DType.F32 => "float",
            DType.I64 => "i64",
            _ => throw new ArgumentException($"timestep embedding: t must be F32 or I64, got {t.DType}"),
        };
        var ty = FloatType("timestep embedding", y);
        Elementwise(Fn(EmbeddingKernels, $"timestep_embedding<{tt}, {ty}>"), y.Numel, Ptr(t), Ptr(y), y.Dim(0), y.Dim(1), -MathF.Log(maxPeriod));
    }

    public void Embedding(Tensor ids, Tensor table, Tensor y, int overrideId, Tensor? overrideRow)
    {
        int d = EmbeddingShape(ids, table, y, overrideRow);
        var t = FloatType("embedding", table, y, overrideRow);
        Elementwise(Fn(EmbeddingKernels, $"embedding_fwd<{t}>"), y.Numel, Ptr(ids), Ptr(table), Opt(overrideRow), Ptr(y),
            ids.Numel, d, (long)table.Dim(0), (long)overrideId);
    }

    public void EmbeddingBackward(Tensor ids, Tensor dy, Tensor? dTable, int overrideId, Tensor? dOverrideRow)
    {
        if (ids.DType != DType.I64) throw new ArgumentException($"embedding backward: ids must be I64, got {ids.DType}");
        int d = dy.Dim(-1);
        if (dy.Numel != ids.Numel * d) throw new ArgumentException($"embedding backward: dy {dy.ShapeString} does not match ids {ids.ShapeString}");
        var t = FloatType("embedding backward", dy, dTable, dOverrideRow);
        if (dTable != null)
        {
            if (dTable.Dim(-1) != d) throw new ArgumentException($"embedding backward: dTable {dTable.ShapeString} width differs from dy");
            _gpu.MakeCurrent();
            Driver.Check(Driver.cuMemsetD8Async(Ptr(dTable), 0, (nuint)(dTable.Numel * dTable.DType.Size()), _gpu.Stream), "cuMemsetD8Async");
            Elementwise(Fn(EmbeddingKernels, $"embedding_bwd_table<{t}>"), dy.Numel, Ptr(ids), Ptr(dy), Ptr(dTable),
                ids.Numel, d, (long)dTable.Dim(0), (long)overrideId, dOverrideRow != null ? 1 : 0);
        }
        if (dOverrideRow != null)
        {
            if (dOverrideRow.Numel != d) throw new ArgumentException($"embedding backward: dOverrideRow {dOverrideRow.ShapeString} is not [{d}]");
            Elementwise(Fn(EmbeddingKernels, $"embedding_bwd_override<{t}>"), d, Ptr(ids), Ptr(dy), Ptr(dOverrideRow), ids.Numel, d, (long)overrideId);
        }
    }

    private static int EmbeddingShape(Tensor ids, Tensor table, Tensor y, Tensor? overrideRow)
    {
        if (ids.DType != DType.I64) throw new ArgumentException($"embedding: ids must be I64, got {ids.DType}");
        if (table.Rank != 2) throw new ArgumentException($"embedding: table {table.ShapeString} is not [V, D]");
        int d = table.Dim(1);
        if (y.Numel != ids.Numel * d || y.Dim(-1) != d) throw new ArgumentException($"embedding: y {y.ShapeString} is not ids {ids.ShapeString} × {d}");
        if (overrideRow != null && overrideRow.Numel != d) throw new ArgumentException($"embedding: override row {overrideRow.ShapeString} is not [{d}]");
        return d;
    }
}
