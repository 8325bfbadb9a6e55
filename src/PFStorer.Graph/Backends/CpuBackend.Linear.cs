using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public unsafe void MatMul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, float alpha, float beta, Tensor? bias)
    {
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3 || c.Rank is < 2 or > 3)
            throw new ArgumentException($"matmul: operands must be 2-D or 3-D, got a {a.ShapeString}, b {b.ShapeString}, c {c.ShapeString}");
        int batch = c.Rank == 3 ? c.Dim(0) : 1;
        foreach (var t in (ReadOnlySpan<Tensor>)[a, b])
            if (t.Rank == 3 && (c.Rank != 3 || t.Dim(0) != batch))
                throw new ArgumentException($"matmul: batched operand {t.ShapeString} does not match output {c.ShapeString}");
        int m = c.Dim(-2), n = c.Dim(-1);
        int am = transA ? a.Dim(-1) : a.Dim(-2), k = transA ? a.Dim(-2) : a.Dim(-1);
        int bk = transB ? b.Dim(-1) : b.Dim(-2), bn = transB ? b.Dim(-2) : b.Dim(-1);
        if (am != m || bk != k || bn != n)
            throw new ArgumentException($"matmul: {a.ShapeString}{(transA ? "ᵀ" : "")} · {b.ShapeString}{(transB ? "ᵀ" : "")} does not give {c.ShapeString}");
        if (bias != null && bias.Numel != n) throw new ArgumentException($"matmul: bias {bias.ShapeString} must have {n} elements");
        fixed (float* pa = F32(a), pb = F32(b), pc = F32(c), pbias = bias == null ? default : F32(bias))
        {
            Sgemm.Batched(batch, transA, transB, m, n, k, alpha,
                pa, a.Dim(-1), a.Rank == 3 ? (long)a.Dim(1) * a.Dim(2) : 0,
                pb, b.Dim(-1), b.Rank == 3 ? (long)b.Dim(1) * b.Dim(2) : 0,
                beta, pc, n, (long)m * n, pbias);
        }
    }
}
