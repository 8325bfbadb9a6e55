namespace PFStorer.Kernels.Cpu;

/// <summary>Sinusoidal timestep embedding and token-table lookup (with the learnable placeholder override) and its adjoint.</summary>
public static class EmbeddingCpu
{
    /// <summary>
    /// y[b] = [cos(t_b·f_0..f_{half−1}), sin(…)] with f_i = exp(−ln(maxPeriod)·i/half). Like upstream, the frequencies and
    /// the products t·f are rounded to f32 before cos/sin (which run in double), so large t match PyTorch's float32 args.
    /// </summary>
    public static void Timestep(ReadOnlySpan<float> t, Span<float> y, int dim, float maxPeriod)
    {
        if (dim <= 0 || dim % 2 != 0) throw new ArgumentException($"timestep embedding: dim {dim} must be positive and even");
        if (y.Length != t.Length * dim) throw new ArgumentException($"timestep embedding: output has {y.Length} elements, not {t.Length}·{dim}");
        int half = dim / 2;
        float logPeriod = MathF.Log(maxPeriod);
        var freq = new float[half];
        for (int i = 0; i < half; i++) freq[i] = MathF.Exp(-logPeriod * i / half);
        for (int b = 0; b < t.Length; b++)
        {
            var row = y.Slice(b * dim, dim);
            for (int i = 0; i < half; i++)
            {
                float arg = t[b] * freq[i];
                row[i] = (float)Math.Cos(arg);
                row[half + i] = (float)Math.Sin(arg);
            }
        }
    }

    /// <summary>y[p] = table[ids[p]], or overrideRow where ids[p] == overrideId and an override row is given.</summary>
    public static void Lookup(ReadOnlySpan<long> ids, ReadOnlySpan<float> table, int dim, Span<float> y, long overrideId, ReadOnlySpan<float> overrideRow)
    {
        long vocab = CheckTable(table.Length, dim, "embedding");
        if (y.Length != ids.Length * dim) throw new ArgumentException($"embedding: output has {y.Length} elements, not {ids.Length}·{dim}");
        if (!overrideRow.IsEmpty && overrideRow.Length != dim) throw new ArgumentException($"embedding: override row has {overrideRow.Length} elements, not {dim}");
        for (int p = 0; p < ids.Length; p++)
        {
            long id = ids[p];
            var dst = y.Slice(p * dim, dim);
            if (id == overrideId && !overrideRow.IsEmpty) { overrideRow.CopyTo(dst); continue; }
            if ((ulong)id >= (ulong)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding: token id {id} at position {p} is outside the vocabulary [0, {vocab})");
            table.Slice((int)(id * dim), dim).CopyTo(dst);
        }
    }

    /// <summary>
    /// dTable = Σ of dy rows scattered to their ids, except positions holding overrideId (pass −1 when no override row was used);
    /// dOverrideRow = Σ of dy rows at the override positions. Either output may be empty (skipped); both are overwritten.
    /// </summary>
    public static void LookupBackward(ReadOnlySpan<long> ids, ReadOnlySpan<float> dy, int dim, Span<float> dTable, long overrideId, Span<float> dOverrideRow)
    {
        if (dy.Length != ids.Length * dim) throw new ArgumentException($"embedding backward: dy has {dy.Length} elements, not {ids.Length}·{dim}");
        long vocab = dTable.IsEmpty ? long.MaxValue : CheckTable(dTable.Length, dim, "embedding backward");
        if (!dOverrideRow.IsEmpty && dOverrideRow.Length != dim) throw new ArgumentException($"embedding backward: override row gradient has {dOverrideRow.Length} elements, not {dim}");
        dTable.Clear();
        dOverrideRow.Clear();
        for (int p = 0; p < ids.Length; p++)
        {
            long id = ids[p];
            var g = dy.Slice(p * dim, dim);
            if (id == overrideId)
            {
                if (!dOverrideRow.IsEmpty) System.Numerics.Tensors.TensorPrimitives.Add(dOverrideRow, g, dOverrideRow);
                continue;
            }
            if (dTable.IsEmpty) continue;
            if ((ulong)id >= (ulong)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding backward: token id {id} at position {p} is outside the vocabulary [0, {vocab})");
            var row = dTable.Slice((int)(id * dim), dim);
            System.Numerics.Tensors.TensorPrimitives.Add(row, g, row);
        }
    }

    private static long CheckTable(int length, int dim, string op)
    {
        if (dim <= 0 || length % dim != 0) throw new ArgumentException($"{op}: table of {length} elements is not rows of {dim}");
        return length / dim;
    }
}
