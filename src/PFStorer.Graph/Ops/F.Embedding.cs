using PFStorer.Graph.Autograd;
using PFStorer.Kernels;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Sinusoidal timestep embedding [B, dim] (cos half first), never differentiated.</summary>
    public static Tensor TimestepEmbedding(Tensor timesteps, int dim, float maxPeriod = 10000f)
    {
        if (dim % 2 != 0) throw new ArgumentException("timestep embedding dim must be even");
        var y = Tensor.Empty([timesteps.Dim(0), dim], DType.F32, timesteps.Device);
        timesteps.Backend.TimestepEmbedding(timesteps, y, maxPeriod);
        return y;
    }

    /// <summary>
    /// Token embedding lookup ids [B,S] → [B,S,D]. Positions holding <paramref name="overrideId"/> read
    /// <paramref name="overrideRow"/> instead of the table (the learnable placeholder token); gradients go to whichever
    /// of table / overrideRow requires them.
    /// </summary>
    public static Tensor Embedding(Tensor ids, Tensor table, int overrideId = -1, Tensor? overrideRow = null)
    {
        CheckSameDevice(ids, table, overrideRow);
        if (ids.DType != DType.I64) throw new ArgumentException("embedding ids must be int64");
        var y = Tensor.Empty([.. ids.ShapeArray(), table.Dim(1)], DType.F32, table.Device);
        table.Backend.Embedding(ids, table, y, overrideId, overrideRow);
        if (Tape.ShouldRecord([table, overrideRow]))
        {
            var idS = ids.Share();
            bool nt = Needs(table), nr = Needs(overrideRow);
            var tableShape = table.ShapeArray();
            int d = table.Dim(1);
            // Without an override row the forward read those positions from the table, so their gradient belongs there.
            int backwardOverride = overrideRow == null ? -1 : overrideId;
            Tape.Record("embedding", [table, overrideRow], [y], g =>
            {
                using var dy = Contig(g[0]!);
                var dt = nt ? Tensor.Empty(tableShape, DType.F32, dy.Device) : null;
                var dr = nr ? Tensor.Empty([d], DType.F32, dy.Device) : null;
                dy.Backend.EmbeddingBackward(idS, dy, dt, backwardOverride, dr);
                return [dt, dr];
            }, idS);
        }
        return y;
    }
}
